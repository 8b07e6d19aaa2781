import type { ListOptions } from '@do-sdk/core'

/**
 * PostgreSQL `text` cannot hold U+0000, and the driver sends strings as UTF-8, which cannot hold a
 * lone surrogate. The contract allows both in keys and values, so strings are stored through a
 * prefix-free code that keeps every other character as it is (keys stay readable in `psql`):
 *
 * | character | stored as |
 * | --- | --- |
 * | U+0000 | U+0001 U+0001 |
 * | U+0001 | U+0001 U+0002 |
 * | a lone surrogate U+Dxxx | U+0001 U+0003 and 4 hex digits |
 *
 * Being prefix-free and monotonic on single characters, the code keeps prefixes (`s` starts with
 * `p` exactly when `encode(s)` starts with `encode(p)`) and code point order (the column's `"C"`
 * collation), except that a lone surrogate sorts low: `list` ranges stay exact.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 and U+0001 are exactly what the code escapes
const SPECIAL = /[\u0000\u0001\ud800-\udfff]/u
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const SPECIAL_ALL = /[\u0000\u0001\ud800-\udfff]/gu
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences start with U+0001
const ESCAPED = /\u0001(?:\u0001|\u0002|\u0003([0-9a-f]{4}))/g

const escapeChar = (c: string) => {
  if (c === '\u0000') return '\u0001\u0001'
  if (c === '\u0001') return '\u0001\u0002'
  return `\u0001\u0003${(c.charCodeAt(0) as number).toString(16)}`
}

/** A string as stored (see above). Most strings have nothing to escape and are returned as they are. */
export const encode = (s: string): string => (SPECIAL.test(s) ? s.replace(SPECIAL_ALL, escapeChar) : s)

/** The inverse of {@link encode}. */
export const decode = (s: string): string =>
  s.indexOf('\u0001') === -1
    ? s
    : s.replace(ESCAPED, (m, hex?: string) =>
        hex ? String.fromCharCode(Number.parseInt(hex, 16)) : m === '\u0001\u0001' ? '\u0000' : '\u0001',
      )

/** Compares strings in code point order, which is PostgreSQL's order on `text COLLATE "C"` (UTF-8 bytes). */
export const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number
    const y = b.codePointAt(i) as number
    if (x !== y) return x < y ? -1 : 1
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order;
 * `undefined` when there is none. Lets `list` be a range scan of the primary key instead of `LIKE`,
 * which treats `%` and `_` as patterns.
 */
export const prefixEnd = (prefix: string): string | undefined => {
  const points = Array.from(prefix)
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1)
  }
  return undefined
}

/** The key range of a `list` or `count` call, on encoded keys: `key >= lower` and, when given, `key < upper`. */
export interface KeyRange {
  lower: string
  upper: string | undefined
  /** The range is empty: answer without asking the server. */
  empty: boolean
}

/**
 * One lower and one upper bound from a prefix and the exclusive `after` / `before` options.
 * `key > after` is written `key >= after + U+0001`: no encoded key holds U+0000, so no key lies
 * between the two.
 */
export const keyRange = (prefix: string, options: Pick<ListOptions, 'after' | 'before'>): KeyRange => {
  const p = encode(prefix)
  let lower = p
  if (options.after !== undefined) {
    const after = `${encode(options.after)}\u0001`
    if (compareCodePoints(after, lower) > 0) lower = after
  }
  let upper = prefixEnd(p)
  if (options.before !== undefined) {
    const before = encode(options.before)
    if (upper === undefined || compareCodePoints(before, upper) < 0) upper = before
  }
  return { lower, upper, empty: upper !== undefined && compareCodePoints(lower, upper) >= 0 }
}
