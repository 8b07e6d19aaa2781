import type { PackContext } from '../context.js'
import { allowedColumns, selection } from '../identifiers.js'
import type { Returning } from '../inputs.js'

/** The columns to give back: a list, `'all'` for `*` (no column allow-list), or undefined for none. */
export const returnedColumns = (pack: PackContext, table: string, returning: Returning | undefined): string[] | 'all' | undefined => {
  if (returning === undefined) return undefined
  if (returning !== '*') return returning
  return allowedColumns(pack.allow, table) ?? 'all'
}

// Kysely's builders change their result type with RETURNING; the pack reads raw QueryResults, so the
// builders are handled untyped here.
type Builder = any

/** Adds RETURNING to an insert, update or delete builder. */
export const withReturning = (query: Builder, cols: string[] | 'all' | undefined): Builder => {
  if (cols === undefined) return query
  return cols === 'all' ? query.returningAll() : query.returning(cols.map(selection))
}

/** Adds the selected columns to a select builder. */
export const withSelection = (query: Builder, cols: string[] | 'all'): Builder =>
  cols === 'all' ? query.selectAll() : query.select(cols.map(selection))
