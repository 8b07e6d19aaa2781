import { z } from 'zod'

const rows = z.array(z.record(z.string(), z.unknown()))
const count = z.number().int().min(0)
const id = z.union([z.number(), z.string()])

/** Output of `insert`. */
export const insertOutput = z.object({
  /** The `returning` columns of the rows written (the existing row when `duplicate`); empty without `returning`. */
  rows,
  /** Rows written: 0 when `duplicate`. */
  affected: count,
  /** The generated id the dialect reports: MySQL the first row's AUTO_INCREMENT id, SQLite the last row's rowid, PostgreSQL none (use `returning`). */
  insertId: id.optional(),
  /** True when an idempotent insert found the row its key already wrote (a retried attempt). */
  duplicate: z.boolean(),
})

/** Output of `update`, `upsert` and `delete`. */
export const writeOutput = z.object({
  /** The `returning` columns of the rows touched; empty without `returning`. */
  rows,
  /** Rows the statement matched (MySQL upsert: 1 per insert, 2 per update, as MySQL counts them). */
  affected: count,
})

/** Output of `select`. */
export const selectOutput = z.object({ rows })

/** Output of `query`. */
export const queryOutput = z.object({
  rows,
  /** Rows changed, when the statement changes rows and the driver reports it. */
  affected: count.optional(),
  insertId: id.optional(),
})

export type InsertOutput = z.output<typeof insertOutput>
export type WriteOutput = z.output<typeof writeOutput>
export type SelectOutput = z.output<typeof selectOutput>
export type QueryOutput = z.output<typeof queryOutput>
