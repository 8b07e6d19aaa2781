/**
 * The Datastore contract: what an adapter implements (this file) and what core builds on it.
 *
 * An adapter only stores. Core owns the semantics: it serializes values, computes versions'
 * meaning, absolute expiry times, leases, timers and journals, and fills in the optional
 * methods (see `complete.ts`). Three methods are required: {@link Datastore.get},
 * {@link Datastore.list} and {@link Datastore.batch}.
 *
 * Rules every adapter follows (checked by `datastoreConformance` in `@do-sdk/core/testing`):
 * - Keys are any non-empty string up to 1024 UTF-16 code units; the adapter stores them as given
 *   (no `%`/`_`/`*` pattern meaning, no case folding, no trimming).
 * - Values are opaque strings (core's serializer output). An adapter never parses them.
 * - Every write of a key gives it `version = previous version + 1` (1 for a new key, also after a delete).
 * - An entry whose `expiresAt` (Unix ms) is `<=` the adapter's current time is absent for every
 *   method, including the version checks in `batch`, and the adapter removes it eventually (a
 *   native TTL, or a sweeper of its own), so storage does not grow with expired entries.
 * - A failure is thrown (preferably as `StoreError`), never reported as "absent".
 * - `namespace` (an adapter option) isolates apps sharing one backend: no key of one namespace can
 *   be read, listed or overwritten through another, whatever the two names are.
 */

/** An entry as stored. */
export interface StoredEntry {
  /** The encoded value, exactly as given to `batch`. */
  value: string
  /** Starts at 1 and grows by 1 on every write of the key. Compare-and-set checks it. */
  version: number
  /** Unix ms after which the entry is absent; `undefined` for no expiry. */
  expiresAt?: number
}

/** An entry returned by {@link Datastore.list}. */
export interface ListedEntry extends StoredEntry {
  key: string
}

/**
 * One operation of an atomic {@link Datastore.batch}.
 *
 * `ifVersion` makes it conditional: the key's current version must equal it, `0` meaning
 * "the key must be absent". A `check` writes nothing and only asserts the version.
 */
export type WriteOp =
  | {
      op: 'set'
      key: string
      value: string
      /** Unix ms after which the entry is absent. */
      expiresAt?: number
      ifVersion?: number
    }
  | { op: 'delete'; key: string; ifVersion?: number }
  | { op: 'check'; key: string; ifVersion: number }

/** Outcome of a batch: every op applied, or none (and which key's condition failed). */
export type BatchResult =
  | {
      ok: true
      /** Per op: the new version for `set`, 0 for `delete` and `check`. */
      versions: number[]
    }
  | {
      ok: false
      /** The first key whose `ifVersion` did not hold. */
      conflictKey: string
      /** Its version now (0 when absent). */
      actualVersion: number
    }

/** Options of {@link Datastore.list}. Bounds are exclusive and compare whole keys. */
export interface ListOptions {
  /** Only keys strictly greater than this (pagination cursor). */
  after?: string
  /** Only keys strictly less than this (e.g. due timers: `before: 'due:' + now`). */
  before?: string
  /** At most this many entries. @default unlimited */
  limit?: number
  /** Descending key order. @default false */
  reverse?: boolean
}

/** What an adapter can guarantee. Declared, never sniffed: the engine checks it and refuses what it cannot do. */
export interface DatastoreCapabilities {
  /**
   * Several processes (on one machine or many) may share this store: `batch` conditions are
   * checked and applied atomically against every other process. When false the engine refuses to
   * run with `multiProcess: true` and tells the user which adapter to use instead.
   */
  multiProcess: boolean
  /**
   * A `batch` applies all of its ops or none, even if the process dies in the middle. When false,
   * the adapter applies the ops in order, and the engine writes its commit record last so that a
   * crash midway leaves nothing that counts as committed.
   */
  atomicBatch: boolean
  /**
   * @deprecated Ignored. Every adapter removes expired entries itself (see the rules above); the
   * engine's retention of finished runs does not depend on it. Kept so adapters declaring it still compile.
   */
  nativeTtl?: boolean
  /** `publish`/`subscribe` reach every process sharing the store (used to wake a run owned elsewhere). */
  pubsub: boolean
}

/**
 * A Datastore adapter. Build one as a factory returning an object literal:
 *
 * @example
 * ```ts
 * export const myStore = (options: MyOptions): Datastore => ({
 *   name: 'my-store',
 *   capabilities: { multiProcess: false, atomicBatch: true, pubsub: false },
 *   async get(key) { … },
 *   async list(prefix, options) { … },
 *   async batch(ops) { … },
 * })
 * ```
 */
export interface Datastore {
  /** Short name used in errors and logs, e.g. `sqlite`. */
  readonly name: string
  readonly capabilities: DatastoreCapabilities
  /** The entry under `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<StoredEntry | undefined>
  /** Entries whose key starts with `prefix` (plain string prefix, no patterns), ascending by key unless `reverse`. */
  list(prefix: string, options?: ListOptions): Promise<ListedEntry[]>
  /** Applies every op or none; see {@link WriteOp}. Ops on the same key apply in order. */
  batch(ops: WriteOp[]): Promise<BatchResult>
  /** Many gets in one round trip (the scheduler reads a page of due runs with it). Filled in by core with parallel `get`s when absent. */
  getMany?(keys: string[]): Promise<(StoredEntry | undefined)[]>
  /**
   * How many live entries start with `prefix`, within the same exclusive `after` / `before` bounds
   * as {@link Datastore.list} (`limit` and `reverse` do not apply). Answered from the key index,
   * never by reading values (`engine.countRuns` uses it). Filled in by core with paged `list` calls
   * when absent.
   */
  count?(prefix: string, options?: Pick<ListOptions, 'after' | 'before'>): Promise<number>
  /** Delivers `message` to every subscriber of `channel` in every process (capability `pubsub`). */
  publish?(channel: string, message: string): Promise<void>
  /** Subscribes to `channel`; resolves to an unsubscribe function. */
  subscribe?(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>
  /**
   * The current time of the store in Unix ms, when the store has a clock all processes share (Redis
   * `TIME`, PostgreSQL `clock_timestamp()`). Engines sharing the store measure their offset to it and
   * order signals, wake-ups and leases by it, so machines whose clocks disagree still agree on order.
   * Leave it out when every process reads the same OS clock (SQLite on one machine).
   */
  now?(): Promise<number>
  /** Releases connections and timers. The engine calls it on `stop()` only for stores it opened. */
  close?(): Promise<void>
}
