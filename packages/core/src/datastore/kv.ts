import { type Duration, toMs } from '../duration.js'
import type { EngineStore } from '../engine/store.js'
import { ConflictError, InvalidArgumentError } from '../errors.js'

/** The user's face of the Datastore: JSON values (through the one serializer) under string keys. */
export interface KV {
  get<T = unknown>(key: string): Promise<T | undefined>
  /** Stores `value`; `ttl` (ms or `'1h'`) makes it expire. */
  set(key: string, value: unknown, options?: { ttl?: Duration }): Promise<void>
  /** Deletes `key`; true when it existed. */
  delete(key: string): Promise<boolean>
  /** Entries whose key starts with `prefix`, ascending by key. */
  list<T = unknown>(prefix?: string, options?: { limit?: number; after?: string }): Promise<{ key: string; value: T }[]>
  /**
   * Atomically replaces the value with `fn(current)` (compare-and-set, retried on conflict).
   * Returning `undefined` deletes the key.
   */
  update<T = unknown>(
    key: string,
    fn: (current: T | undefined) => T | undefined,
    options?: { ttl?: Duration; maxAttempts?: number },
  ): Promise<T | undefined>
}

const PREFIX = 'kv/'

const checkKey = (key: unknown): string => {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1000) {
    throw new InvalidArgumentError(`Invalid Datastore key ${JSON.stringify(key)}: use a non-empty string of at most 1000 characters`)
  }
  return key
}

/** Builds the user KV on the engine's store; `now` gives expiry times. */
export const createKV = (store: EngineStore, now: () => number): KV => ({
  async get<T>(key: string) {
    const k = PREFIX + checkKey(key)
    const e = await store.get(k)
    return e ? store.decode<T>(e, k) : undefined
  },
  async set(key, value, options = {}) {
    const k = PREFIX + checkKey(key)
    const encoded = store.encode(store.scrub(value), `value of "${key}"`)
    const expiresAt = options.ttl === undefined ? undefined : now() + toMs(options.ttl, 'ttl')
    await store.batch([{ op: 'set', key: k, value: encoded, ...(expiresAt === undefined ? {} : { expiresAt }) }])
  },
  async delete(key) {
    const k = PREFIX + checkKey(key)
    const existed = (await store.get(k)) !== undefined
    await store.batch([{ op: 'delete', key: k }])
    return existed
  },
  async list<T>(prefix = '', options: { limit?: number; after?: string } = {}) {
    const items = await store.list(PREFIX + prefix, {
      limit: options.limit,
      after: options.after === undefined ? undefined : PREFIX + options.after,
    })
    return items.map((e) => ({ key: e.key.slice(PREFIX.length), value: store.decode<T>(e, e.key) }))
  },
  async update<T>(key: string, fn: (current: T | undefined) => T | undefined, options: { ttl?: Duration; maxAttempts?: number } = {}) {
    const k = PREFIX + checkKey(key)
    const maxAttempts = options.maxAttempts ?? 100
    for (let i = 0; i < maxAttempts; i++) {
      const e = await store.get(k)
      const current = e ? store.decode<T>(e, k) : undefined
      const next = fn(current)
      const ifVersion = e?.version ?? 0
      const res =
        next === undefined
          ? await store.batch([{ op: 'delete', key: k, ifVersion }])
          : await store.batch([
              {
                op: 'set',
                key: k,
                value: store.encode(store.scrub(next), `value of "${key}"`),
                ifVersion,
                ...(options.ttl === undefined ? {} : { expiresAt: now() + toMs(options.ttl, 'ttl') }),
              },
            ])
      if (res.ok) return next
    }
    throw new ConflictError(`update("${key}") lost the compare-and-set race ${maxAttempts} times`, key)
  },
})
