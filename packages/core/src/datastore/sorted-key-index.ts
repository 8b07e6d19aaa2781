import type { ListOptions } from './types.js'

/** First index `i` in `[lo, hi)` for which `pred(keys[i])` holds, given `pred` is false then true along the range. */
const search = (keys: string[], lo: number, hi: number, pred: (k: string) => boolean): number => {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (pred(keys[mid] as string)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * An in-memory, sorted set of keys with their expiry (Unix ms), for adapters whose backend cannot
 * list in order (Keyv). Sorted by UTF-16 code units, like `memoryStore`. Listing is
 * `O(log n + k)`.
 */
export class SortedKeyIndex {
  private readonly keys: string[] = []
  private readonly expiry = new Map<string, number | undefined>()

  get size(): number {
    return this.keys.length
  }

  /** Adds `key` or updates its expiry (Unix ms, `undefined` for none). */
  set(key: string, expiresAt: number | undefined): void {
    if (!this.expiry.has(key))
      this.keys.splice(
        search(this.keys, 0, this.keys.length, (k) => k >= key),
        0,
        key,
      )
    this.expiry.set(key, expiresAt)
  }

  delete(key: string): void {
    if (!this.expiry.delete(key)) return
    this.keys.splice(
      search(this.keys, 0, this.keys.length, (k) => k >= key),
      1,
    )
  }

  /** Keys whose expiry is `<= now`. */
  expired(now: number): string[] {
    const out: string[] = []
    for (const [key, at] of this.expiry) if (at !== undefined && at <= now) out.push(key)
    return out
  }

  /**
   * Up to `options.limit` unexpired keys that start with `prefix` and lie strictly between
   * `options.after` and `options.before`, ascending (descending with `reverse`).
   */
  range(prefix: string, options: ListOptions, now: number): string[] {
    const { keys } = this
    const limit = options.limit ?? Number.POSITIVE_INFINITY
    const out: string[] = []
    if (limit <= 0) return out
    const start = search(keys, 0, keys.length, (k) => k >= prefix)
    const end = search(keys, start, keys.length, (k) => !k.startsWith(prefix))
    const after = options.after
    const before = options.before
    const lo =
      after === undefined
        ? start
        : Math.max(
            start,
            search(keys, 0, keys.length, (k) => k > after),
          )
    const hi =
      before === undefined
        ? end
        : Math.min(
            end,
            search(keys, 0, keys.length, (k) => k >= before),
          )
    const live = (key: string) => {
      const at = this.expiry.get(key)
      return at === undefined || at > now
    }
    if (options.reverse) {
      for (let i = hi - 1; i >= lo && out.length < limit; i--) if (live(keys[i] as string)) out.push(keys[i] as string)
    } else {
      for (let i = lo; i < hi && out.length < limit; i++) if (live(keys[i] as string)) out.push(keys[i] as string)
    }
    return out
  }
}
