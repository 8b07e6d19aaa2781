import { NonRetryableError } from '@do-sdk/core'
import { sql } from 'kysely'
import { builder, execute, type PackContext, toNumberish } from '../context.js'
import { DatabaseError } from '../errors.js'
import { column, tableRef } from '../identifiers.js'
import type { InsertInput } from '../inputs.js'
import type { InsertOutput } from '../outputs.js'
import { bindRow, plainRows } from '../values.js'
import { returnedColumns, withReturning, withSelection } from './returning.js'

// MySQL reports 0 when the table has no AUTO_INCREMENT column.
const generatedId = (pack: PackContext, id: bigint | undefined) => (pack.dialect === 'mysql' && id === 0n ? undefined : toNumberish(id))

/** INSERT of one row or several, every value bound. */
export const plainInsert = async (pack: PackContext, input: InsertInput): Promise<InsertOutput> => {
  const rows = (input.rows ?? [input.values!]).map((r) => bindRow(r, pack.dialect))
  const cols = returnedColumns(pack, input.table, input.returning)
  const result = await execute(pack, withReturning(builder(pack).insertInto(input.table).values(rows), cols).compile())
  // With RETURNING the ids are in `rows` (SQLite reports no rowid for such a statement).
  const insertId = cols === undefined ? generatedId(pack, result.insertId) : undefined
  return {
    rows: plainRows(result.rows),
    affected: Number(result.numAffectedRows ?? result.rows.length),
    ...(insertId === undefined ? {} : { insertId }),
    duplicate: false,
  }
}

const findByKey = async (pack: PackContext, input: InsertInput, key: string) => {
  const cols = returnedColumns(pack, input.table, input.returning ?? '*') as string[] | 'all'
  const query = withSelection(builder(pack).selectFrom(tableRef(input.table) as never), cols)
    .where(column(input.idempotencyKey!) as never, '=', key)
    .limit(1)
  const result = await execute(pack, query.compile())
  return plainRows(result.rows)[0]
}

// Without a unique index of its own, the key column cannot stop a second insert. PostgreSQL and SQLite
// refuse ON CONFLICT on such a column; MySQL has no ON CONFLICT, so the pack looks the index up (once).
// Keyed by the Kysely instance: each call runs with its own copy of the pack context (its signal).
const uniqueChecked = new WeakMap<object, Set<string>>()
const assertUniqueKey = async (pack: PackContext, table: string, keyColumn: string) => {
  const seen = uniqueChecked.get(pack.db) ?? new Set<string>()
  uniqueChecked.set(pack.db, seen)
  const cacheKey = JSON.stringify([pack.schema ?? null, table, keyColumn])
  if (seen.has(cacheKey)) return
  const query = sql`SELECT INDEX_NAME FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = COALESCE(${pack.schema ?? null}, DATABASE()) AND TABLE_NAME = ${table} AND NON_UNIQUE = 0
    GROUP BY INDEX_NAME HAVING COUNT(*) = 1 AND MAX(COLUMN_NAME) = ${keyColumn}`
  const result = await execute(pack, query.compile(pack.db))
  if (result.rows.length === 0) {
    throw new NonRetryableError(
      `[do-sdk] [database:mysql] insert on "${table}": the idempotencyKey column "${keyColumn}" needs a UNIQUE index of its own (none found)`,
    )
  }
  seen.add(cacheKey)
}

const isMysqlDuplicate = (error: unknown) => (error as { errno?: unknown } | null)?.errno === 1062

/**
 * INSERT that writes the attempt's idempotency key into `input.idempotencyKey`. PostgreSQL and SQLite use
 * ON CONFLICT (key) DO NOTHING; MySQL inserts and, on a duplicate-key error, looks for its key (a
 * duplicate on another unique key, with no row holding this key, is a real constraint violation). Either
 * way a retried attempt gets the row the first attempt wrote, with `duplicate: true`.
 */
export const idempotentInsert = async (pack: PackContext, input: InsertInput, key: string): Promise<InsertOutput> => {
  const keyColumn = input.idempotencyKey!
  const values = { ...bindRow(input.values!, pack.dialect), [keyColumn]: key }
  const insert = builder(pack).insertInto(input.table).values(values)
  if (pack.dialect === 'mysql') {
    await assertUniqueKey(pack, input.table, keyColumn)
    try {
      await execute(pack, insert.compile())
    } catch (error) {
      if (!isMysqlDuplicate(error)) throw error
      const existing = await findByKey(pack, input, key)
      if (!existing) throw error
      return { rows: [existing], affected: 0, duplicate: true }
    }
    // No insertId, as on the other dialects: the row is returned, and a retried attempt (which finds the
    // row instead of inserting it) gives the same fields.
    const row = await findByKey(pack, input, key)
    return { rows: row ? [row] : [], affected: 1, duplicate: false }
  }
  const cols = returnedColumns(pack, input.table, input.returning ?? '*')
  const query = withReturning(
    insert.onConflict((oc) => oc.column(keyColumn).doNothing()),
    cols,
  )
  const result = await execute(pack, query.compile())
  if (result.rows.length > 0) return { rows: plainRows(result.rows), affected: 1, duplicate: false }
  const existing = await findByKey(pack, input, key)
  if (!existing) {
    // The conflicting row was deleted between the two statements: another attempt will insert it.
    throw new DatabaseError(
      `[do-sdk] [database:${pack.dialect}] insert on "${input.table}": the row holding this idempotency key vanished`,
      pack.dialect,
      undefined,
    )
  }
  return { rows: [existing], affected: 0, duplicate: true }
}
