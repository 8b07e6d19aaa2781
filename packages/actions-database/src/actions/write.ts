import { sql } from 'kysely'
import { builder, execute, type PackContext } from '../context.js'
import { tableRef } from '../identifiers.js'
import type { DeleteInput, UpdateInput, UpsertInput } from '../inputs.js'
import type { WriteOutput } from '../outputs.js'
import { bindRow, plainRows } from '../values.js'
import { whereExpression } from '../where.js'
import { returnedColumns, withReturning } from './returning.js'

const output = (result: { rows: unknown[]; numAffectedRows?: bigint }): WriteOutput => ({
  rows: plainRows(result.rows),
  // SQLite reports no count for a statement with RETURNING; its rows are the count.
  affected: Number(result.numAffectedRows ?? result.rows.length),
})

/** UPDATE … SET … WHERE …, every value bound. */
export const update = async (pack: PackContext, input: UpdateInput): Promise<WriteOutput> => {
  let query = builder(pack)
    .updateTable(tableRef(input.table) as never)
    .set(bindRow(input.set, pack.dialect)) as any
  const where = whereExpression(input.where, pack.dialect)
  if (where) query = query.where(where)
  query = withReturning(query, returnedColumns(pack, input.table, input.returning))
  return output(await execute(pack, query.compile()))
}

/** DELETE FROM … WHERE …, every value bound. */
export const remove = async (pack: PackContext, input: DeleteInput): Promise<WriteOutput> => {
  let query = builder(pack).deleteFrom(tableRef(input.table) as never) as any
  const where = whereExpression(input.where, pack.dialect)
  if (where) query = query.where(where)
  query = withReturning(query, returnedColumns(pack, input.table, input.returning))
  return output(await execute(pack, query.compile()))
}

/**
 * INSERT … ON CONFLICT (conflict) DO UPDATE SET col = excluded.col (PostgreSQL, SQLite), or
 * INSERT … ON DUPLICATE KEY UPDATE col = VALUES(col) (MySQL, where any unique key decides).
 */
export const upsert = async (pack: PackContext, input: UpsertInput): Promise<WriteOutput> => {
  const rows = (input.rows ?? [input.values!]).map((r) => bindRow(r, pack.dialect))
  const columns = Object.keys(rows[0])
  const updated = input.update ?? columns.filter((c) => !input.conflict.includes(c))
  const insert = builder(pack).insertInto(input.table).values(rows)
  let query: any
  if (pack.dialect === 'mysql') {
    // Nothing to update: assign a conflict column to itself, MySQL's "do nothing".
    const set = updated.length
      ? Object.fromEntries(updated.map((c) => [c, sql`VALUES(${sql.id(c)})`]))
      : { [input.conflict[0]]: sql`${sql.id(input.conflict[0])}` }
    query = insert.onDuplicateKeyUpdate(set)
  } else {
    // Nothing to update: set a conflict column to itself rather than DO NOTHING, so that an existing row
    // is matched (counted in `affected`, given back by `returning`) as it is on MySQL.
    const set = updated.length ? updated : [input.conflict[0]]
    query = insert.onConflict((oc) =>
      oc.columns(input.conflict).doUpdateSet(Object.fromEntries(set.map((c) => [c, sql`excluded.${sql.id(c)}`]))),
    )
  }
  query = withReturning(query, returnedColumns(pack, input.table, input.returning))
  return output(await execute(pack, query.compile()))
}
