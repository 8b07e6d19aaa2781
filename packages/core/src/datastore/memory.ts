import { SortedStrings } from './sorted-strings.js'
import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from './types.js'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Clock used for expiry, in Unix ms. @default Date.now */
  now?: () => number
}

/**
 * An in-process Datastore: fast, atomic, and gone when the process exits. For tests, development
 * and workloads that need no durability. Keys are kept sorted so listing is `O(log n + k)`.
 */
export const memoryStore = (options: MemoryStoreOptions = {}): Datastore => {
  const now = options.now ?? Date.now
  const entries = new Map<string, StoredEntry>()
  const sorted = new SortedStrings()

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
    if (entries.delete(key)) sorted.remove(key)
  }
  const put = (key: string, value: string, expiresAt: number | undefined): number => {
    const prev = entries.get(key)
    if (prev === undefined) sorted.insert(key)
    const version = prev && (prev.expiresAt === undefined || prev.expiresAt > now()) ? prev.version + 1 : 1
    entries.set(key, expiresAt === undefined ? { value, version } : { value, version, expiresAt })
    return version
  }
  const apply = (ops: WriteOp[]): number[] =>
    ops.map((op) => {
      if (op.op === 'set') return put(op.key, op.value, op.expiresAt)
      if (op.op === 'delete') remove(op.key)
      return 0
    })
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
      const t = now()
      const expired: string[] = []
      // Expired entries met on the way are removed after the walk, so they never disturb it.
      const take = (key: string) => {
        const e = entries.get(key) as StoredEntry
        if (e.expiresAt !== undefined && e.expiresAt <= t) expired.push(key)
        else out.push({ key, ...copy(e) })
        return out.length < limit
      }
      if (opts.reverse) {
        for (const key of sorted.before(opts.before)) {
          if (key < prefix || (opts.after !== undefined && key <= opts.after)) break
          if (key.startsWith(prefix) && !take(key)) break
        }
      } else {
        const fromAfter = opts.after !== undefined && opts.after >= prefix
        for (const key of sorted.from(fromAfter ? (opts.after as string) : prefix, fromAfter)) {
          if (!key.startsWith(prefix) || (opts.before !== undefined && key >= opts.before)) break
          if (!take(key)) break
        }
      }
      for (const key of expired) remove(key)
      return out
    },
    async batch(ops: WriteOp[]): Promise<BatchResult> {
      if (!hasRepeatedKey(ops)) {
        // The usual batch: each key once, so every condition is checked against the store as it is.
        for (const op of ops) {
          if (op.ifVersion === undefined) continue
          const current = live(op.key)?.version ?? 0
          if (current !== op.ifVersion) return { ok: false, conflictKey: op.key, actualVersion: current }
        }
        return { ok: true, versions: apply(ops) }
      }
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
      return { ok: true, versions: apply(ops) }
    },
  }
}

/** True when some key appears in more than one op (checked pairwise: batches are small). */
const hasRepeatedKey = (ops: WriteOp[]): boolean => {
  if (ops.length > 16) return new Set(ops.map((op) => op.key)).size !== ops.length
  for (let i = 1; i < ops.length; i++) {
    const key = (ops[i] as WriteOp).key
    for (let j = 0; j < i; j++) if ((ops[j] as WriteOp).key === key) return true
  }
  return false
}
