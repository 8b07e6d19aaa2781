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
  /**
   * The generated id the dialect reports for an insert without `returning`: MySQL the first row's
   * AUTO_INCREMENT id, SQLite the last row's rowid, PostgreSQL none (use `returning`). Absent for an
   * idempotent insert, which returns its row instead.
   */
  insertId: id.optional(),
  /** True when an idempotent insert found the row its key already wrote (a retried attempt). */
  duplicate: z.boolean(),
})

/** Output of `update`, `upsert` and `delete`. */
export const writeOutput = z.object({
  /** The `returning` columns of the rows touched; empty without `returning`. */
  rows,
  /**
   * Rows the statement matched, changed or not. Upsert on MySQL counts as MySQL does: 1 per row inserted,
   * 2 per row updated, 1 per row left as it was.
   */
  affected: count,
})

/** Output of `select`. */
export const selectOutput = z.object({ rows })

/** Output of `query`. */
export const queryOutput = z.object({
  rows,
  /** Rows written, when the statement writes rows and the driver reports it. */
  affected: count.optional(),
  /** The generated id of an INSERT or REPLACE that wrote rows (MySQL: the first row's, SQLite: the last row's). */
  insertId: id.optional(),
})

export type InsertOutput = z.output<typeof insertOutput>
export type WriteOutput = z.output<typeof writeOutput>
export type SelectOutput = z.output<typeof selectOutput>
export type QueryOutput = z.output<typeof queryOutput>
