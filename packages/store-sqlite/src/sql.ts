import type { BatchResult, ListOptions, WriteOp } from '@do-sdk/core'

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
export const UPSERT = `INSERT INTO ${TABLE} (ns, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`
export const DELETE_ONE = `DELETE FROM ${TABLE} WHERE ns = ? AND key = ?`

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

/** The `SELECT` of a `list` call and its parameters: a range scan of the primary key. */
export const listQuery = (ns: string, prefix: string, options: ListOptions, now: number): { sql: string; params: unknown[] } => {
  const where = ['ns = ?', 'key >= ?', '(expires_at IS NULL OR expires_at > ?)']
  const params: unknown[] = [ns, prefix, now]
  const end = prefixEnd(prefix)
  if (end !== undefined) {
    where.push('key < ?')
    params.push(end)
  }
  if (options.after !== undefined) {
    where.push('key > ?')
    params.push(options.after)
  }
  if (options.before !== undefined) {
    where.push('key < ?')
    params.push(options.before)
  }
  let sql = `SELECT key, value, version, expires_at FROM ${TABLE} WHERE ${where.join(' AND ')} ORDER BY key ${options.reverse ? 'DESC' : 'ASC'}`
  if (options.limit !== undefined) {
    sql += ' LIMIT ?'
    params.push(Math.max(0, Math.floor(options.limit)))
  }
  return { sql, params }
}

/** The final write of one key in a batch. */
export type FinalWrite = { key: string; value: string; version: number; expiresAt: number | undefined } | { key: string; delete: true }

/**
 * Checks a batch's conditions against `current` versions (0 when absent or expired) as each
 * earlier op leaves them, and computes the last write of each key: inside a transaction only the
 * final state of a key matters.
 */
export const planBatch = (ops: WriteOp[], current: Map<string, number>): { result: BatchResult; writes: FinalWrite[] } => {
  const versions: number[] = []
  const last = new Map<string, FinalWrite>()
  for (const op of ops) {
    const version = current.get(op.key) ?? 0
    if (op.ifVersion !== undefined && op.ifVersion !== version) {
      return { result: { ok: false, conflictKey: op.key, actualVersion: version }, writes: [] }
    }
    if (op.op === 'set') {
      current.set(op.key, version + 1)
      versions.push(version + 1)
      last.set(op.key, { key: op.key, value: op.value, version: version + 1, expiresAt: op.expiresAt })
    } else {
      if (op.op === 'delete') {
        current.set(op.key, 0)
        last.set(op.key, { key: op.key, delete: true })
      }
      versions.push(0)
    }
  }
  return { result: { ok: true, versions }, writes: [...last.values()] }
}

/** Distinct keys of a batch, in first-seen order. */
export const keysOf = (ops: WriteOp[]) => [...new Set(ops.map((op) => op.key))]

/** Current versions from rows (expired rows count as absent). */
export const versionsOf = (keys: string[], rows: Row[], now: number) => {
  const current = new Map<string, number>(keys.map((k) => [k, 0]))
  for (const row of rows) if (row.expires_at === null || row.expires_at > now) current.set(row.key, row.version)
  return current
}
