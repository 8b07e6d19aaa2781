import { z } from 'zod'
import type { Dialect } from './errors.js'
import { identifier } from './identifiers.js'

/** A value bound as a query parameter. */
export type Scalar = string | number | boolean | null | Date

/** A value written to a column: a scalar, or any JSON value wrapped as `{ $json: value }` (stored as JSON text). */
export type ColumnValue = Scalar | { $json: unknown }

const SCALAR_ONLY = 'must be a string, a finite number, a boolean, null or a Date'

/** Scalars only: mysql2 expands a bound object into `key = value` SQL, so objects and arrays never reach a driver. */
export const scalar = z.union([z.string(), z.number(), z.boolean(), z.null(), z.date()], { error: SCALAR_ONLY })

const json = z
  .object({ $json: z.unknown() })
  .strict()
  .refine((v) => v.$json !== undefined, '$json needs a JSON value')

/** A column value: a scalar, or `{ $json: value }` to store an object or array as JSON text. */
export const columnValue = z.union([scalar, json], {
  error: `${SCALAR_ONLY}; wrap objects and arrays as { $json: value } to store them as JSON text`,
})

/** A row of column values. */
export const row = z.record(identifier, columnValue)

/** The value handed to the driver: JSON encoded explicitly, and what better-sqlite3 cannot bind turned into what it can. */
export const bind = (value: ColumnValue, dialect: Dialect): string | number | bigint | null | Date | boolean => {
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return JSON.stringify(value.$json)
  if (dialect === 'sqlite') {
    // better-sqlite3 binds every JS number as a REAL: 1 would be stored as '1.0' in a TEXT column.
    if (typeof value === 'boolean') return value ? 1n : 0n
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
    if (value instanceof Date) return value.toISOString()
  }
  return value
}

/** Binds every value of a row. */
export const bindRow = (values: Record<string, ColumnValue>, dialect: Dialect): Record<string, unknown> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, bind(v, dialect)]))

/** A BigInt as a JSON-safe value: a number when it fits exactly, else its decimal string. */
const jsonSafe = (value: unknown): unknown => {
  if (typeof value !== 'bigint') return value
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString()
}

/**
 * Rows as plain objects (zod and the engine's serializer accept no class instances, e.g. driver row
 * classes), with BigInts (SQLite integers) as numbers, or as strings past 2^53.
 */
export const plainRows = (rows: readonly unknown[]): Record<string, unknown>[] =>
  // fromEntries defines own properties: a column named __proto__ cannot change the row's prototype.
  rows.map((r) => Object.fromEntries(Object.entries(r as Record<string, unknown>).map(([key, value]) => [key, jsonSafe(value)])))
