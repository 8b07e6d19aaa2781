import type { Keyv } from 'keyv'
import { CapabilityError, CorruptRecordError, InvalidArgumentError, StoreError } from '../errors.js'
import { namespaceOption, promiseLock, storeError } from './kit.js'
import { SortedKeyIndex } from './sorted-key-index.js'
import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from './types.js'

/** Options of {@link keyvStore}. */
export interface KeyvStoreOptions {
  /**
   * Isolates this store's keys from other apps using the same Keyv backend: 1 to 64 letters,
   * digits, `_`, `-` or `.`. @default none (its own key space, still apart from every namespace)
   */
  namespace?: string
  /** How often expired entries are deleted from the backend, in ms; 0 turns the sweep off. @default 60_000 */
  sweepIntervalMs?: number
}

/** An entry as written to Keyv: the full Keyv key (to recognise our entries when iterating), value, version, expiry (Unix ms). */
interface Envelope {
  k: string
  v: string
  ver: number
  exp?: number
}

const NAME = 'keyv'
const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/
/** Keyv stores whose index is loaded, per backend object: one index per namespace, or two would disagree. */
const openIndexes = new WeakMap<object, Set<string>>()

/**
 * Makes any Keyv 5 instance a Datastore, with the guarantees one process can give on it:
 * `{ multiProcess: false, atomicBatch: false, nativeTtl: true, pubsub: false }`.
 *
 * - The Keyv instance must be created with `throwOnErrors: true` (keyv otherwise reports a failing
 *   store as "not found"); every backend error surfaces as a `StoreError`.
 * - `batch` checks its conditions under an in-process lock, then applies its ops in order (a crash
 *   midway can leave the first ops applied: the engine writes its commit record last).
 * - Keyv cannot list in order, so the store keeps a sorted index of its keys in memory, loaded from
 *   `keyv.iterator` on first use (a store Keyv cannot iterate is refused with a `CapabilityError`).
 *   The index is authoritative because only this process writes.
 * - Entries are stored as JSON `{ k, v, ver, exp }`; expiry is passed to Keyv as a TTL as well, and
 *   expired entries are absent at once and swept from the backend every `sweepIntervalMs`.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv'
 * import KeyvPostgres from '@keyv/postgres'
 * const store = keyvStore(new Keyv({ store: new KeyvPostgres(url), throwOnErrors: true }), { namespace: 'billing' })
 * ```
 */
export const keyvStore = (keyv: Keyv, options: KeyvStoreOptions = {}): Datastore => {
  if (typeof keyv?.get !== 'function' || typeof keyv.set !== 'function') {
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] keyvStore(keyv) needs a Keyv instance, got ${typeof keyv}.`)
  }
  if (keyv.throwOnErrors !== true) {
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] Create the Keyv instance with { throwOnErrors: true }: without it keyv reports a failing store as "not found" and finished steps would run again.`,
    )
  }
  const iterate = keyv.iterator
  if (typeof iterate !== 'function') {
    throw new CapabilityError(
      `[do-sdk] [${NAME}] This Keyv store cannot iterate its keys (keyv.iterator is undefined), so keyvStore cannot list them in order. Use a Map, sqlite, postgres, mysql, mongo, redis, valkey or etcd Keyv store, or another adapter.`,
    )
  }
  const namespace =
    options.namespace === undefined
      ? undefined
      : namespaceOption(NAME, options.namespace, { default: '', pattern: NAMESPACE, allowed: '1 to 64 letters, digits, "_", "-" or "."' })
  // Keyv prefixes a key with `${keyv.namespace}:` unless it already starts with it, so "keyv:x" and "x"
  // would collide. Passing keys that always carry that prefix makes the mapping one-to-one; `:` ends our
  // namespace, which cannot contain one.
  const keyvPrefix = keyv.useKeyPrefix !== false && keyv.namespace ? `${keyv.namespace}:` : ''
  const prefix = `${keyvPrefix}${namespace ?? ''}:`
  const keyOf = (key: string) => prefix + key
  const backend = (keyv.store ?? keyv) as object
  const scope = namespace ?? ''

  function fail(what: string, key: string | undefined, error: unknown): never {
    throw storeError(NAME, key === undefined ? what : `${what} of ${JSON.stringify(key)}`, error)
  }

  const decode = (key: string, raw: unknown): Envelope | undefined => {
    if (raw === undefined || raw === null) return undefined
    let e: Envelope | undefined
    try {
      e = typeof raw === 'string' ? (JSON.parse(raw) as Envelope) : undefined
    } catch {}
    if (
      e === undefined ||
      e.k !== keyOf(key) ||
      typeof e.v !== 'string' ||
      !Number.isInteger(e.ver) ||
      (e.exp !== undefined && typeof e.exp !== 'number')
    ) {
      throw new CorruptRecordError(`[do-sdk] [${NAME}] Entry ${JSON.stringify(key)} is not a do-sdk record.`, key)
    }
    return e
  }

  /** The live envelope under `key`, or undefined when absent or expired. */
  const read = async (key: string): Promise<Envelope | undefined> => {
    let raw: unknown
    try {
      raw = await keyv.get(keyOf(key))
    } catch (error) {
      fail('get', key, error)
    }
    const e = decode(key, raw)
    return e && (e.exp === undefined || e.exp > Date.now()) ? e : undefined
  }

  const toEntry = (e: Envelope): StoredEntry =>
    e.exp === undefined ? { value: e.v, version: e.ver } : { value: e.v, version: e.ver, expiresAt: e.exp }

  const index = new SortedKeyIndex()
  let loading: Promise<void> | undefined
  let closed = false
  let registered = false
  const load = async () => {
    const scopes = openIndexes.get(backend) ?? new Set<string>()
    if (scopes.has(scope)) {
      throw new CapabilityError(
        `[do-sdk] [${NAME}] Another keyvStore already uses namespace ${JSON.stringify(scope)} of this Keyv store in this process; share one store (its key index is kept in memory).`,
      )
    }
    try {
      for await (const [, raw] of iterate(undefined)) {
        let e: Envelope
        try {
          e = JSON.parse(raw as string) as Envelope
        } catch {
          continue // Not a do-sdk entry: another app's data under the same Keyv namespace.
        }
        if (typeof e?.k === 'string' && e.k.startsWith(prefix) && typeof e.v === 'string') index.set(e.k.slice(prefix.length), e.exp)
      }
    } catch (error) {
      fail('loading the key index (keyv.iterator)', undefined, error)
    }
    scopes.add(scope)
    openIndexes.set(backend, scopes)
    registered = true
  }
  const ready = async () => {
    if (closed) throw new StoreError(`[do-sdk] [${NAME}] The store is closed.`, NAME)
    loading ??= load().catch((error) => {
      loading = undefined
      throw error
    })
    await loading
  }

  // Conditions are checked and ops applied one batch at a time (single process: this lock is enough).
  const serial = promiseLock()

  const write = async (key: string, value: string, version: number, expiresAt: number | undefined) => {
    const now = Date.now()
    if (expiresAt !== undefined && expiresAt <= now) return remove(key)
    const envelope: Envelope =
      expiresAt === undefined ? { k: keyOf(key), v: value, ver: version } : { k: keyOf(key), v: value, ver: version, exp: expiresAt }
    // The index errs towards listing a key: `list` reads each entry back, so an extra key costs nothing.
    index.set(key, expiresAt)
    let ok: boolean
    try {
      // TTL 0 means "none" to keyv, overriding a default `ttl` set on the Keyv instance.
      ok = await keyv.set(keyOf(key), JSON.stringify(envelope), expiresAt === undefined ? 0 : expiresAt - now)
    } catch (error) {
      return fail('set', key, error)
    }
    if (!ok) fail('set', key, new Error('keyv.set returned false'))
  }
  const remove = async (key: string) => {
    try {
      await keyv.delete(keyOf(key))
    } catch (error) {
      fail('delete', key, error)
    }
    index.delete(key)
  }

  const sweep = () =>
    serial(async () => {
      for (const key of index.expired(Date.now())) await remove(key)
    })
  const sweepMs = options.sweepIntervalMs ?? 60_000
  // Best effort: a failed sweep is retried on the next tick, and expired entries are absent meanwhile.
  const timer = sweepMs > 0 ? setInterval(() => sweep().catch(() => {}), sweepMs) : undefined
  timer?.unref?.()

  return {
    name: NAME,
    capabilities: { multiProcess: false, atomicBatch: false, nativeTtl: true, pubsub: false },
    async get(key) {
      await ready()
      const e = await read(key)
      return e && toEntry(e)
    },
    async getMany(keys) {
      await ready()
      const entries = await Promise.all(keys.map(read))
      return entries.map((e) => e && toEntry(e))
    },
    async list(listPrefix: string, opts: ListOptions = {}) {
      await ready()
      const out: ListedEntry[] = []
      const limit = opts.limit ?? Number.POSITIVE_INFINITY
      let cursor: string | undefined
      while (out.length < limit) {
        // Re-reads the index from a key cursor each round, so concurrent writes cannot shift it.
        const bound = cursor === undefined ? {} : opts.reverse ? { before: cursor } : { after: cursor }
        const want = Math.min(limit - out.length, 64)
        const keys = index.range(listPrefix, { ...opts, ...bound, limit: want }, Date.now())
        const entries = await Promise.all(keys.map(read))
        for (const [i, e] of entries.entries()) if (e) out.push({ key: keys[i] as string, ...toEntry(e) })
        if (keys.length < want) break
        cursor = keys[keys.length - 1]
      }
      return out
    },
    batch(ops: WriteOp[]): Promise<BatchResult> {
      return serial(async () => {
        await ready()
        const keys = [...new Set(ops.map((op) => op.key))]
        const current = new Map<string, number>()
        const read0 = await Promise.all(keys.map(read))
        for (const [i, key] of keys.entries()) current.set(key, read0[i]?.ver ?? 0)
        const versions: number[] = []
        for (const op of ops) {
          const version = current.get(op.key) as number
          if (op.ifVersion !== undefined && op.ifVersion !== version) return { ok: false, conflictKey: op.key, actualVersion: version }
          const next = op.op === 'set' ? version + 1 : op.op === 'delete' ? 0 : version
          current.set(op.key, next)
          versions.push(op.op === 'set' ? next : 0)
        }
        for (const [i, op] of ops.entries()) {
          if (op.op === 'set') await write(op.key, op.value, versions[i] as number, op.expiresAt)
          else if (op.op === 'delete') await remove(op.key)
        }
        return { ok: true, versions }
      })
    },
    async close() {
      if (closed) return
      closed = true
      if (timer) clearInterval(timer)
      if (loading) await loading.catch(() => {})
      if (registered) openIndexes.get(backend)?.delete(scope)
    },
  }
}
