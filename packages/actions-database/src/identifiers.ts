import { type Expression, sql, TableNode } from 'kysely'
import { z } from 'zod'

// Kysely splits "a.b" into schema/table (or table/column) and "a as b" into an alias; the pack always hands
// it one name, so dots are refused. mysql2 fills every "?" in the SQL text with a value, even inside a
// quoted identifier, so "?" is refused too. Everything else (quotes, semicolons, spaces) is quoted by
// Kysely's compiler for the dialect, which doubles the quote character.
const FORBIDDEN_CHARS = new Set(['.', '?'])
const isForbidden = (ch: string) => FORBIDDEN_CHARS.has(ch) || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f

/**
 * A table or column name: 1-64 characters, no ".", no "?", no control characters, not `__proto__` (as an
 * object key it is dropped by zod and sets a prototype in drivers' rows). Always quoted.
 */
export const identifier = z
  .string()
  .min(1, 'an identifier needs 1-64 characters')
  .max(64, 'an identifier needs 1-64 characters')
  .refine((name) => ![...name].some(isForbidden), 'an identifier may not contain ".", "?" or control characters')
  .refine((name) => name !== '__proto__', 'an identifier may not be "__proto__"')

/** A column as an expression: one quoted identifier, never parsed for dots or aliases. */
export const column = (name: string): Expression<unknown> => sql.id(name)

/** A column selected (or returned) under its own name. */
export const selection = (name: string) => sql.id(name).as(name)

/** A table for `selectFrom` / `updateTable` / `deleteFrom`: one quoted name (the `schema` option adds a schema). */
export const tableRef = (name: string) => ({ toOperationNode: () => TableNode.create(name) })

/** The allow-list: table → its allowed columns (`null` when every column is allowed). */
export type AllowList = ReadonlyMap<string, ReadonlySet<string> | null>

/** Builds the allow-list from the `tables` option (a list of tables, or tables with their columns). */
export const toAllowList = (tables: readonly string[] | Readonly<Record<string, readonly string[]>>): AllowList =>
  new Map(
    Array.isArray(tables)
      ? tables.map((t) => [t, null] as const)
      : Object.entries(tables as Record<string, readonly string[]>).map(([t, cols]) => [t, new Set(cols)] as const),
  )

/** The columns `*` stands for under the allow-list, or undefined when every column is allowed. */
export const allowedColumns = (allow: AllowList | undefined, table: string): string[] | undefined => {
  const cols = allow?.get(table)
  return cols ? [...cols] : undefined
}
