import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from './types.js'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Clock used for expiry, in Unix ms. @default Date.now */
  now?: () => number
}

/** Index of the first element of sorted `keys` that is >= `key` (or > `key` when `strict`). */
const lowerBound = (keys: string[], key: string, strict = false): number => {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const k = keys[mid] as string
    if (k < key || (strict && k === key)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * An in-process Datastore: fast, atomic, and gone when the process exits. For tests, development
 * and workloads that need no durability. Keys are kept sorted so listing is `O(log n + k)`.
 */
export const memoryStore = (options: MemoryStoreOptions = {}): Datastore => {
  const now = options.now ?? Date.now
  const entries = new Map<string, StoredEntry>()
  const sorted: string[] = []

  const live = (key: string): StoredEntry | undefined => {
    const e = entries.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt !== undefined && e.expiresAt <= now()) {
      remove(key)
      return undefined
    }
    return e
  }
  const remove = (key: string) => {
    if (!entries.delete(key)) return
    const i = lowerBound(sorted, key)
    if (sorted[i] === key) sorted.splice(i, 1)
  }
  const put = (key: string, value: string, expiresAt: number | undefined): number => {
    const prev = entries.get(key)
    if (prev === undefined) sorted.splice(lowerBound(sorted, key), 0, key)
    const version = prev && (prev.expiresAt === undefined || prev.expiresAt > now()) ? prev.version + 1 : 1
    entries.set(key, expiresAt === undefined ? { value, version } : { value, version, expiresAt })
    return version
  }
  const copy = (e: StoredEntry): StoredEntry => (e.expiresAt === undefined ? { value: e.value, version: e.version } : { ...e })

  return {
    name: 'memory',
    capabilities: { multiProcess: false, atomicBatch: true, nativeTtl: true, pubsub: false },
    async get(key) {
      const e = live(key)
      return e && copy(e)
    },
    async getMany(keys) {
      return keys.map((k) => {
        const e = live(k)
        return e && copy(e)
      })
    },
    async list(prefix: string, opts: ListOptions = {}) {
      const out: ListedEntry[] = []
      const limit = opts.limit ?? Number.POSITIVE_INFINITY
      if (limit <= 0) return out
      const lo = opts.after !== undefined && opts.after >= prefix ? lowerBound(sorted, opts.after, true) : lowerBound(sorted, prefix)
      let hi = opts.before !== undefined ? lowerBound(sorted, opts.before) : sorted.length
      if (opts.reverse) {
        for (let i = hi - 1; i >= lo && out.length < limit; i--) {
          const key = sorted[i] as string
          if (!key.startsWith(prefix)) {
            if (key < prefix) break
            continue
          }
          const e = live(key)
          if (e) out.push({ key, ...copy(e) })
        }
        return out
      }
      for (let i = lo; i < hi && out.length < limit; i++) {
        const key = sorted[i] as string
        if (!key.startsWith(prefix)) break
        const e = live(key)
        if (e) out.push({ key, ...copy(e) })
        else {
          i--
          hi--
        }
      }
      return out
    },
    async batch(ops: WriteOp[]): Promise<BatchResult> {
      // Check every condition first against the state as each earlier op in the batch leaves it.
      const pending = new Map<string, number>()
      for (const op of ops) {
        if (op.ifVersion !== undefined) {
          const current = pending.has(op.key) ? (pending.get(op.key) as number) : (live(op.key)?.version ?? 0)
          if (current !== op.ifVersion) return { ok: false, conflictKey: op.key, actualVersion: current }
        }
        if (op.op === 'set') {
          const current = pending.has(op.key) ? (pending.get(op.key) as number) : (live(op.key)?.version ?? 0)
          pending.set(op.key, current + 1)
        } else if (op.op === 'delete') pending.set(op.key, 0)
      }
      const versions = ops.map((op) => {
        if (op.op === 'set') return put(op.key, op.value, op.expiresAt)
        if (op.op === 'delete') remove(op.key)
        return 0
      })
      return { ok: true, versions }
    },
  }
}
