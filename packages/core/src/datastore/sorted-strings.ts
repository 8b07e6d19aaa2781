/**
 * A sorted set of strings (UTF-16 code unit order) kept in chunks of at most 512, so inserting or
 * removing costs O(log n + 512) instead of moving the whole array, and walking in order from any
 * bound is O(log n + k). Membership is the caller's business (a Map beside it).
 */
/** The most keys in one chunk. */
const MAX_CHUNK = 512

export class SortedStrings {
  private chunks: string[][] = [[]]

  /** Index of the chunk where `key` belongs: the first whose last element is >= key (else the last). */
  private chunkFor(key: string): number {
    let lo = 0
    let hi = this.chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = this.chunks[mid] as string[]
      if ((chunk[chunk.length - 1] as string) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Inserts a key that is not present. */
  insert(key: string): void {
    const ci = this.chunkFor(key)
    const chunk = this.chunks[ci] as string[]
    chunk.splice(lowerBound(chunk, key, false), 0, key)
    if (chunk.length > MAX_CHUNK) this.chunks.splice(ci + 1, 0, chunk.splice(chunk.length >>> 1))
  }

  /** Removes a key if present. */
  remove(key: string): void {
    const ci = this.chunkFor(key)
    const chunk = this.chunks[ci] as string[]
    const i = lowerBound(chunk, key, false)
    if (chunk[i] !== key) return
    chunk.splice(i, 1)
    if (chunk.length === 0 && this.chunks.length > 1) this.chunks.splice(ci, 1)
  }

  /** Keys in ascending order, starting at the first key >= `from` (> `from` when `strict`). */
  *from(from: string, strict: boolean): Generator<string> {
    let ci = this.chunkFor(from)
    let i = lowerBound(this.chunks[ci] as string[], from, strict)
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci] as string[]
      for (; i < chunk.length; i++) yield chunk[i] as string
    }
  }

  /** Keys in descending order, starting at the last key < `before` (every key when undefined). */
  *before(before: string | undefined): Generator<string> {
    let ci = before === undefined ? this.chunks.length - 1 : this.chunkFor(before)
    let i = before === undefined ? (this.chunks[ci] as string[]).length - 1 : lowerBound(this.chunks[ci] as string[], before, false) - 1
    for (; ci >= 0; ci--, i = ci >= 0 ? (this.chunks[ci] as string[]).length - 1 : 0) {
      const chunk = this.chunks[ci] as string[]
      for (; i >= 0; i--) yield chunk[i] as string
    }
  }
}

/** First index in sorted `keys` whose key is >= `key` (> `key` when `strict`). */
const lowerBound = (keys: string[], key: string, strict: boolean): number => {
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
