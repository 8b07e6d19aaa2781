import { z } from 'zod'
import type { Dialect } from './errors.js'
import { type AllowList, identifier } from './identifiers.js'
import { refusingProtoKeys } from './keys.js'
import type { Params } from './raw-sql.js'
import { type ColumnValue, row, scalar } from './values.js'
import { condition, type Where } from './where.js'

/** Columns a statement gives back: `'*'` (every column, or every allowed column) or a list. */
export type Returning = '*' | string[]

/** Input of `insert`. */
export interface InsertInput {
  table: string
  /** One row: column → value. Give `values` or `rows`. */
  values?: Record<string, ColumnValue>
  /** Several rows, all with the same columns. */
  rows?: Record<string, ColumnValue>[]
  /** Columns to give back (not on MySQL, except with `idempotencyKey`). */
  returning?: Returning
  /**
   * Column (with a UNIQUE constraint) that receives the attempt's `idempotencyKey`. A retried attempt then
   * finds the row the first attempt wrote instead of inserting a second one, and returns it. One row only.
   */
  idempotencyKey?: string
}

/** Input of `update`. */
export interface UpdateInput {
  table: string
  /** Column → new value. */
  set: Record<string, ColumnValue>
  where?: Where
  /** Must be `true` to update without a `where` (every row). */
  allRows?: boolean
  /** Same as `allRows`. */
  allowAll?: boolean
  returning?: Returning
}

/** Input of `upsert`: insert, or update the row that conflicts. */
export interface UpsertInput {
  table: string
  values?: Record<string, ColumnValue>
  rows?: Record<string, ColumnValue>[]
  /** Columns of the unique constraint that decides "already there" (PostgreSQL and SQLite; MySQL uses any unique key). */
  conflict: string[]
  /** Columns overwritten on conflict. @default every column of the row except `conflict` */
  update?: string[]
  returning?: Returning
}

/** Input of `delete`. */
export interface DeleteInput {
  table: string
  where?: Where
  /** Must be `true` to delete without a `where` (every row). */
  allRows?: boolean
  /** Same as `allRows`. */
  allowAll?: boolean
  returning?: Returning
}

/** Input of `select`. */
export interface SelectInput {
  table: string
  /** @default every column (every allowed column under a column allow-list) */
  columns?: string[]
  where?: Where
  orderBy?: (string | { column: string; direction?: 'asc' | 'desc' })[]
  /** At most `maxRows`. */
  limit?: number
  offset?: number
}

/** Input of `query`: one statement of raw SQL with bound parameters. */
export interface QueryInput {
  /** One statement. Placeholders: `$1`, `$2`… or `?` with an array; `:name` with an object. */
  sql: string
  params?: Params
}

/** Rows one insert or upsert may write (one statement; drivers cap bound parameters). */
const MAX_ROWS_PER_WRITE = 1000

type Check = z.core.$RefinementCtx
type Path = (string | number)[]

const issue = (ctx: Check, path: Path, message: string) => ctx.addIssue({ code: 'custom', path, message })

/** Builds the input schemas for one pack: the allow-list and the dialect shape what is accepted. */
export const inputSchemas = (dialect: Dialect, allow: AllowList | undefined, maxRows: number) => {
  const table = allow ? z.enum([...allow.keys()] as [string, ...string[]]) : identifier
  const returning = z.union([z.literal('*'), z.array(identifier).min(1)]).optional()
  const where = z.record(identifier, condition).optional()
  const rows = z.array(row).min(1).max(MAX_ROWS_PER_WRITE).optional()

  const columnsAllowed = (ctx: Check, t: string, refs: [Path, string][]) => {
    const cols = allow?.get(t)
    for (const [path, col] of refs) if (cols && !cols.has(col)) issue(ctx, path, `column "${col}" is not in the allow-list of "${t}"`)
  }
  const whereRefs = (w: Record<string, unknown> | undefined): [Path, string][] => Object.keys(w ?? {}).map((c) => [['where', c], c])
  const returningRefs = (r: Returning | undefined): [Path, string][] =>
    Array.isArray(r) ? r.map((c, i): [Path, string] => [['returning', i], c]) : []
  const noMysqlReturning = (ctx: Check, r: Returning | undefined) => {
    if (dialect === 'mysql' && r !== undefined)
      issue(ctx, ['returning'], 'MySQL has no RETURNING (only an idempotent insert returns its row)')
  }
  // values xor rows, every row with the same columns; returns the column names.
  const rowColumns = (ctx: Check, v: { values?: Record<string, unknown>; rows?: Record<string, unknown>[] }): [Path, string][] => {
    if ((v.values === undefined) === (v.rows === undefined)) {
      issue(ctx, ['values'], 'give either values (one row) or rows')
      return []
    }
    const list = v.rows ?? [v.values!]
    const first = Object.keys(list[0]).sort().join('\u0000')
    list.forEach((r, i) => {
      if (Object.keys(r).length === 0) issue(ctx, v.rows ? ['rows', i] : ['values'], 'needs at least one column')
      else if (Object.keys(r).sort().join('\u0000') !== first) issue(ctx, ['rows', i], 'every row needs the same columns')
    })
    return Object.keys(list[0]).map((c) => [[v.rows ? 'rows' : 'values', c], c])
  }
  const needsWhere = (ctx: Check, v: { where?: Record<string, unknown>; allRows?: boolean; allowAll?: boolean }) => {
    if (Object.keys(v.where ?? {}).length === 0 && v.allRows !== true && v.allowAll !== true)
      issue(ctx, ['where'], 'needs a condition (or allRows: true to touch every row)')
  }

  const insert = z
    .object({ table, values: row.optional(), rows, returning, idempotencyKey: identifier.optional() })
    .strict()
    .superRefine((v, ctx) => {
      const refs = rowColumns(ctx, v)
      if (v.idempotencyKey !== undefined) {
        if (v.rows) issue(ctx, ['idempotencyKey'], 'an idempotent insert writes one row: use values')
        if (v.values && Object.hasOwn(v.values, v.idempotencyKey)) {
          issue(ctx, ['values', v.idempotencyKey], 'is the idempotencyKey column: the action fills it')
        }
        refs.push([['idempotencyKey'], v.idempotencyKey])
      } else noMysqlReturning(ctx, v.returning)
      columnsAllowed(ctx, v.table, [...refs, ...returningRefs(v.returning)])
    })

  const update = z
    .object({ table, set: row, where, allRows: z.boolean().optional(), allowAll: z.boolean().optional(), returning })
    .strict()
    .superRefine((v, ctx) => {
      if (Object.keys(v.set).length === 0) issue(ctx, ['set'], 'needs at least one column')
      needsWhere(ctx, v)
      noMysqlReturning(ctx, v.returning)
      const setRefs = Object.keys(v.set).map((c): [Path, string] => [['set', c], c])
      columnsAllowed(ctx, v.table, [...setRefs, ...whereRefs(v.where), ...returningRefs(v.returning)])
    })

  const upsert = z
    .object({
      table,
      values: row.optional(),
      rows,
      conflict: z.array(identifier).min(1),
      update: z.array(identifier).optional(),
      returning,
    })
    .strict()
    .superRefine((v, ctx) => {
      const refs = rowColumns(ctx, v)
      const cols = new Set(refs.map(([, c]) => c))
      v.conflict.forEach((c, i) => {
        if (refs.length && !cols.has(c)) issue(ctx, ['conflict', i], `"${c}" is not a column of the row`)
      })
      v.update?.forEach((c, i) => {
        if (refs.length && !cols.has(c)) issue(ctx, ['update', i], `"${c}" is not a column of the row`)
      })
      noMysqlReturning(ctx, v.returning)
      columnsAllowed(ctx, v.table, [...refs, ...returningRefs(v.returning)])
    })

  const del = z
    .object({ table, where, allRows: z.boolean().optional(), allowAll: z.boolean().optional(), returning })
    .strict()
    .superRefine((v, ctx) => {
      needsWhere(ctx, v)
      noMysqlReturning(ctx, v.returning)
      columnsAllowed(ctx, v.table, [...whereRefs(v.where), ...returningRefs(v.returning)])
    })

  const orderItem = z.union([identifier, z.object({ column: identifier, direction: z.enum(['asc', 'desc']).optional() }).strict()])
  const select = z
    .object({
      table,
      columns: z.array(identifier).min(1).optional(),
      where,
      orderBy: z.array(orderItem).optional(),
      limit: z.number().int().min(0).max(maxRows).optional(),
      offset: z.number().int().min(0).optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
      const colRefs = (v.columns ?? []).map((c, i): [Path, string] => [['columns', i], c])
      const orderRefs = (v.orderBy ?? []).map((o, i): [Path, string] => [['orderBy', i], typeof o === 'string' ? o : o.column])
      columnsAllowed(ctx, v.table, [...colRefs, ...whereRefs(v.where), ...orderRefs])
    })

  const query = z
    .object({
      sql: z.string().min(1).max(100_000),
      params: z.union([z.array(scalar).max(10_000), z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), scalar)]).optional(),
    })
    .strict()

  // An own __proto__ key anywhere is refused before zod, which would drop it: a `where` would lose a condition.
  return {
    insert: refusingProtoKeys(insert),
    update: refusingProtoKeys(update),
    upsert: refusingProtoKeys(upsert),
    delete: refusingProtoKeys(del),
    select: refusingProtoKeys(select),
    query: refusingProtoKeys(query),
  }
}
