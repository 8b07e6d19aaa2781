import type { ListOptions } from '@do-sdk/core'

/** Our table. Namespace is a column, so no name can reach another namespace's rows. */
export const TABLE = 'do_entries'

export const SCHEMA = `CREATE TABLE IF NOT EXISTS ${TABLE} (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (ns, key)
)`

export const SELECT_ONE = `SELECT key, value, version, expires_at FROM ${TABLE} WHERE ns = ? AND key = ?`
export const DELETE_ONE = `DELETE FROM ${TABLE} WHERE ns = ? AND key = ?`

/** `(ns, key, now)`: the live version of a key, no row when absent or expired. */
export const SELECT_VERSION = `SELECT version FROM ${TABLE} WHERE ns = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)`
/** `(ns, key, value, version, expiresAt)`: writes a key at a version already decided. */
export const PUT = `INSERT INTO ${TABLE} (ns, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`
/**
 * `(ns, key, value, expiresAt, now)`: writes a key at its live version + 1 (1 when absent or
 * expired at `now`) and returns that version. In `DO UPDATE`, bare column names are the stored row.
 */
export const BUMP = `INSERT INTO ${TABLE} (ns, key, value, version, expires_at) VALUES (?, ?, ?, 1, ?)
  ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
    version = CASE WHEN expires_at IS NULL OR expires_at > ? THEN version + 1 ELSE 1 END
  RETURNING version`

/** Keys per `IN (…)` query, well under SQLite's bound-parameter limit. */
export const CHUNK = 500

export const selectIn = (n: number) =>
  `SELECT key, value, version, expires_at FROM ${TABLE} WHERE ns = ? AND key IN (${Array.from({ length: n }, () => '?').join(', ')})`

/** A row as read. */
export interface Row {
  key: string
  value: string
  version: number
  expires_at: number | null
}

export const chunks = <T>(items: T[], size = CHUNK): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order
 * (which is SQLite's byte order on UTF-8 text); `undefined` when there is none. Lets `list` be an
 * index range scan instead of `LIKE`, which treats `%` and `_` as patterns.
 */
export const prefixEnd = (prefix: string): string | undefined => {
  const points = Array.from(prefix)
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1)
  }
  return undefined
}

/** Compares strings in code point order, SQLite's (BINARY) order on UTF-8 text. */
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
 * The `SELECT` of a `list` call and its parameters: a range scan of the primary key between one
 * lower and one upper bound. Only the tighter of two bounds is given: with both `key < end` and
 * `key < before`, SQLite bounds the index range by one of them and filters on the other, so
 * listing due entries `before` now scanned every future entry up to the prefix's end (80 ms with
 * 1,000,000 sleeping runs, for no row).
 */
export const listQuery = (ns: string, prefix: string, options: ListOptions, now: number): { sql: string; params: unknown[] } => {
  const where = ['ns = ?', '(expires_at IS NULL OR expires_at > ?)']
  const params: unknown[] = [ns, now]
  if (options.after !== undefined && compareCodePoints(options.after, prefix) >= 0) {
    where.push('key > ?')
    params.push(options.after)
  } else {
    where.push('key >= ?')
    params.push(prefix)
  }
  const end = prefixEnd(prefix)
  const upper = options.before === undefined || (end !== undefined && compareCodePoints(end, options.before) < 0) ? end : options.before
  if (upper !== undefined) {
    where.push('key < ?')
    params.push(upper)
  }
  let sql = `SELECT key, value, version, expires_at FROM ${TABLE} WHERE ${where.join(' AND ')} ORDER BY key ${options.reverse ? 'DESC' : 'ASC'}`
  if (options.limit !== undefined) {
    sql += ' LIMIT ?'
    params.push(Math.max(0, Math.floor(options.limit)))
  }
  return { sql, params }
}
