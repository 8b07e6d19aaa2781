import { NonRetryableError, ValidationError } from '@do-sdk/core'
import { sql } from 'kysely'
import { builder, capRows, execute, type PackContext, toNumberish } from '../context.js'
import { allowedColumns, column, tableRef } from '../identifiers.js'
import type { QueryInput, SelectInput } from '../inputs.js'
import type { QueryOutput, SelectOutput } from '../outputs.js'
import { bindRawSql, leadingKeyword, RawSqlError } from '../raw-sql.js'
import { bind, plainRows } from '../values.js'
import { whereExpression } from '../where.js'
import { withSelection } from './returning.js'

/** SELECT with bound conditions, ordered and paged; more than `maxRows` rows without a `limit` is an error. */
export const select = async (pack: PackContext, input: SelectInput): Promise<SelectOutput> => {
  const cols = input.columns ?? allowedColumns(pack.allow, input.table) ?? 'all'
  let query = withSelection(builder(pack).selectFrom(tableRef(input.table) as never), cols)
  const where = whereExpression(input.where, pack.dialect)
  if (where) query = query.where(where)
  for (const item of input.orderBy ?? []) {
    const [name, direction] = typeof item === 'string' ? [item, 'asc' as const] : [item.column, item.direction ?? 'asc']
    query = query.orderBy(column(name) as never, direction)
  }
  // Always a LIMIT: MySQL accepts no OFFSET without one, and one row past maxRows tells "too many".
  query = query.limit(input.limit ?? pack.maxRows + 1)
  if (input.offset !== undefined) query = query.offset(input.offset)
  const result = await execute(pack, query.compile())
  capRows(pack, `select on "${input.table}"`, result.rows.length, 'give a limit (and page with offset) or raise maxRows')
  return { rows: plainRows(result.rows) }
}

const isInsert = (text: string, dialect: PackContext['dialect']) => ['INSERT', 'REPLACE'].includes(leadingKeyword(text, dialect))

/** One statement of raw SQL; parameters are bound at their placeholders, never spliced into the text. */
export const query = async (pack: PackContext, input: QueryInput, subject: string, allowed: boolean): Promise<QueryOutput> => {
  if (!allowed) {
    throw new NonRetryableError(
      `[do-sdk] [database:${pack.dialect}] raw queries are off (the tables allow-list is set); pass allowRawQuery: true to allow them`,
    )
  }
  let bound: ReturnType<typeof bindRawSql>
  try {
    bound = bindRawSql(input.sql, input.params, pack.dialect)
  } catch (error) {
    if (!(error instanceof RawSqlError)) throw error
    throw new ValidationError(subject, [{ path: error.path, message: error.message, code: 'custom' }])
  }
  const fragments = Object.assign([...bound.fragments], { raw: [...bound.fragments] }) as unknown as TemplateStringsArray
  const statement = sql<Record<string, unknown>>(fragments, ...bound.values.map((v) => bind(v, pack.dialect)))
  const result = await execute(pack, statement.compile(pack.db))
  capRows(pack, 'query', result.rows.length, 'add a LIMIT or raise maxRows')
  const affected = result.numAffectedRows === undefined ? undefined : Number(result.numAffectedRows)
  // Drivers keep the last generated id on the connection (SQLite reports it after an UPDATE too): report it
  // only for an INSERT or REPLACE that wrote rows.
  const insertId = affected && result.insertId && isInsert(input.sql, pack.dialect) ? toNumberish(result.insertId) : undefined
  return { rows: plainRows(result.rows), ...(affected === undefined ? {} : { affected }), ...(insertId === undefined ? {} : { insertId }) }
}
