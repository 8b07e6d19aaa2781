import assert from 'node:assert/strict'
import type { BatchResult, Datastore, ListedEntry, StoredEntry, WriteOp } from '../datastore/types.js'

/**
 * The parts of a test runner the conformance suite uses. Vitest, Jest, Mocha (with a `describe`
 * and an `it` that accept async functions) and `node:test` all fit. Assertions come from
 * `node:assert`, so no `expect` is needed.
 */
export interface ConformanceRunner {
  describe: (name: string, fn: () => void) => unknown
  it: (name: string, fn: () => Promise<void>, timeoutMs?: number) => unknown
}

/** Opens a fresh, empty Datastore (a new temp file, a new random namespace…). */
export type DatastoreFactory = () => Datastore | Promise<Datastore>

/** Switches for {@link datastoreConformance}. Every group runs unless turned off or missing its hook. */
export interface DatastoreConformanceOptions {
  /** Title of the outer `describe`. @default 'Datastore conformance' */
  name?: string
  /** Groups to turn off, for adapters that cannot give them. */
  skip?: {
    /** The adapter cannot expire entries (`expiresAt`). */
    ttl?: boolean
    /** The backend cannot store U+0000 inside a key. */
    nulKeys?: boolean
    /** The backend cannot store a 1 MB value. */
    largeValues?: boolean
  }
  /**
   * Opens a store with the adapter's `namespace` option set to `ns`. Every call made during one test
   * must reach the same backend (it may already hold data from other tests: the suite uses unique
   * values). Enables the namespace group. An adapter that refuses a name must throw an
   * `InvalidArgumentError` naming it.
   */
  factoryWithNamespace?: (ns: string) => Datastore | Promise<Datastore>
  /**
   * Opens a second, independent connection to the backend and namespace of `store`, as another
   * process would. Enables the cross-connection group (races, leases and pub/sub between two
   * connections); give it for adapters with `capabilities.multiProcess`.
   */
  reopen?: (store: Datastore) => Datastore | Promise<Datastore>
  /** Makes `store` fail from now on (close its connection, make its backend throw). Enables the error group. */
  breakStore?: (store: Datastore) => void | Promise<void>
  /** Failures must be `StoreError`s (code `ERR_STORE`), not just any rejection. @default true */
  expectStoreError?: boolean
  /** Timeout of each test, in ms. @default 20_000 */
  timeoutMs?: number
}

/** What each conformance test receives. Every store it opens is closed after the test. */
export interface ConformanceContext {
  open(): Promise<Datastore>
  openNamespace(ns: string): Promise<Datastore>
  reopen(store: Datastore): Promise<Datastore>
  breakStore(store: Datastore): Promise<void>
  options: DatastoreConformanceOptions
}

/** Registers one test. */
export type ConformanceTest = (name: string, fn: (ctx: ConformanceContext) => Promise<void>) => void

/** Builds the `test` function used by the groups: opens and closes stores around each test. */
export const makeTest =
  (runner: ConformanceRunner, factory: DatastoreFactory, options: DatastoreConformanceOptions): ConformanceTest =>
  (name, fn) => {
    runner.it(
      name,
      async () => {
        const opened: Datastore[] = []
        const broken = new Set<Datastore>()
        const track = async (pending: Datastore | Promise<Datastore>) => {
          const store = await pending
          opened.push(store)
          return store
        }
        const missing = (hook: string) => new Error(`conformance: this test needs options.${hook}`)
        const ctx: ConformanceContext = {
          open: () => track(factory()),
          openNamespace: (ns) => {
            if (!options.factoryWithNamespace) throw missing('factoryWithNamespace')
            return track(options.factoryWithNamespace(ns))
          },
          reopen: (store) => {
            if (!options.reopen) throw missing('reopen')
            return track(options.reopen(store))
          },
          breakStore: async (store) => {
            if (!options.breakStore) throw missing('breakStore')
            broken.add(store)
            await options.breakStore(store)
          },
          options,
        }
        const closeAll = async () => {
          const errors: unknown[] = []
          for (const store of opened.reverse()) {
            // A broken store may fail to close; a healthy one must not.
            await (async () => store.close?.())().catch((error) => broken.has(store) || errors.push(error))
          }
          return errors
        }
        try {
          await fn(ctx)
        } catch (error) {
          await closeAll()
          throw error
        }
        const errors = await closeAll()
        if (errors.length > 0) throw errors[0]
      },
      options.timeoutMs ?? 20_000,
    )
  }

/** A `set` op. */
export const setOp = (key: string, value: string, extra: { expiresAt?: number; ifVersion?: number } = {}): WriteOp => ({
  op: 'set',
  key,
  value,
  ...extra,
})

/** Writes `key` and asserts the batch succeeded; returns the new version. */
export const put = async (store: Datastore, key: string, value: string, extra?: { expiresAt?: number; ifVersion?: number }) => {
  const result = await store.batch([setOp(key, value, extra)])
  assert.ok(result.ok, `set ${JSON.stringify(key)} failed: ${JSON.stringify(result)}`)
  return result.versions[0] as number
}

/** Asserts a batch succeeded and returns its versions. */
export const expectOk = (result: BatchResult): number[] => {
  assert.ok(result.ok, `expected the batch to succeed, got ${JSON.stringify(result)}`)
  return result.versions
}

/** Asserts a batch was refused on `key` with `actualVersion`. */
export const expectConflict = (result: BatchResult, key: string, actualVersion: number) => {
  assert.deepEqual(result, { ok: false, conflictKey: key, actualVersion })
}

/** An entry reduced to the fields the contract defines (so `expiresAt: undefined` and a missing `expiresAt` compare equal). */
export const view = (entry: StoredEntry | undefined) =>
  entry === undefined ? undefined : { value: entry.value, version: entry.version, expiresAt: entry.expiresAt ?? undefined }

/** The keys of listed entries, in order. */
export const keysOf = (entries: ListedEntry[]) => entries.map((e) => e.key)

/** The store's clock (its `now()` when it has one), in Unix ms. */
export const clock = async (store: Datastore) => (store.now ? store.now() : Date.now())

/**
 * Runs `read` and says what an entry expiring at `expiresAt` (Unix ms) had to be during it, by the
 * store's clock before and after: `live` (the read ended before expiry), `gone` (it started after),
 * or neither (the read straddled the expiry, either answer is right). Keeps TTL tests exact on a
 * slow machine.
 */
export const during = async <T>(store: Datastore, expiresAt: number, read: () => Promise<T>) => {
  const before = await clock(store)
  const result = await read()
  const after = await clock(store)
  return { result, live: after < expiresAt, gone: before >= expiresAt }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `check()` holds, polling every 5 ms, or fails after `timeoutMs`. */
export const waitFor = async (check: () => boolean, what: string, timeoutMs = 3_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

/** `getMany` when the adapter has one, else parallel `get`s (what core fills in). */
export const getMany = (store: Datastore, keys: string[]) =>
  store.getMany ? store.getMany(keys) : Promise.all(keys.map((k) => store.get(k)))

/** A value unlikely to be found in a shared backend already. */
export const token = (label: string) => `${label}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}`

/** Sorted copy, by UTF-16 code units. */
export const sorted = (keys: string[]) => [...keys].sort()

/**
 * Increments the integer stored under `key` with a read + compare-and-set loop, retrying on
 * conflict. Resolves to the number of attempts it took.
 */
export const increment = async (store: Datastore, key: string): Promise<number> => {
  for (let attempt = 1; attempt <= 10_000; attempt++) {
    const entry = await store.get(key)
    const next = String(entry ? Number(entry.value) + 1 : 1)
    const result = await store.batch([setOp(key, next, { ifVersion: entry?.version ?? 0 })])
    if (result.ok) return attempt
  }
  throw new Error(`increment of ${key} never won a compare-and-set in 10000 attempts`)
}
