import { type ExpressionBuilder, type ExpressionWrapper, type SqlBool, sql } from 'kysely'
import { z } from 'zod'
import type { Dialect } from './errors.js'
import { column } from './identifiers.js'
import { bind, type Scalar, scalar } from './values.js'

/** Operators on one column; several in one object are ANDed (`{ age: { gte: 18, lt: 65 } }`). */
export interface WhereOperators {
  eq?: Scalar
  ne?: Scalar
  gt?: Scalar
  gte?: Scalar
  lt?: Scalar
  lte?: Scalar
  /** Any of these values; an empty list matches no row. */
  in?: Scalar[]
  /** None of these values; an empty list matches every row. */
  notIn?: Scalar[]
  /** SQL LIKE pattern (`%` and `_`); case sensitivity is the dialect's (and the collation's). */
  like?: string
  /** `true`: IS NULL, `false`: IS NOT NULL. */
  isNull?: boolean
}

/** Column → value (equality; `null` means IS NULL) or operators. All entries are ANDed. */
export type Where = Record<string, Scalar | WhereOperators>

const list = z.array(scalar).max(1000)
const operators = z
  .object({
    eq: scalar.optional(),
    ne: scalar.optional(),
    gt: scalar.optional(),
    gte: scalar.optional(),
    lt: scalar.optional(),
    lte: scalar.optional(),
    in: list.optional(),
    notIn: list.optional(),
    like: z.string().optional(),
    isNull: z.boolean().optional(),
  })
  .strict()
  .refine((ops) => Object.values(ops).some((v) => v !== undefined), 'needs at least one operator')

/** Schema of a condition on one column. */
export const condition = z.union([scalar, operators], {
  error: 'must be a scalar (equality) or an object of operators: eq, ne, gt, gte, lt, lte, in, notIn, like, isNull',
})

const COMPARISONS = { eq: '=', ne: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

type Eb = ExpressionBuilder<any, any>
type Cond = ExpressionWrapper<any, any, SqlBool>

const onColumn = (eb: Eb, name: string, cond: Scalar | WhereOperators, dialect: Dialect): Cond[] => {
  const col = column(name)
  if (cond === null) return [eb(col, 'is', null)]
  if (typeof cond !== 'object' || cond instanceof Date) return [eb(col, '=', bind(cond, dialect))]
  const out: Cond[] = []
  for (const [op, sqlOp] of Object.entries(COMPARISONS)) {
    const value = cond[op as keyof typeof COMPARISONS]
    if (value === undefined) continue
    // "= NULL" is never true; users who write { eq: null } mean IS NULL.
    if (value === null && (op === 'eq' || op === 'ne')) out.push(eb(col, op === 'eq' ? 'is' : 'is not', null))
    else out.push(eb(col, sqlOp, bind(value, dialect)))
  }
  if (cond.in !== undefined) {
    out.push(
      cond.in.length
        ? eb(
            col,
            'in',
            cond.in.map((v) => bind(v, dialect)),
          )
        : eb(sql.lit(1), '=', sql.lit(0)),
    )
  }
  if (cond.notIn?.length)
    out.push(
      eb(
        col,
        'not in',
        cond.notIn.map((v) => bind(v, dialect)),
      ),
    )
  if (cond.like !== undefined) out.push(eb(col, 'like', cond.like))
  if (cond.isNull !== undefined) out.push(eb(col, cond.isNull ? 'is' : 'is not', null))
  return out
}

/** The WHERE expression for `where`, every value bound; undefined when there is no condition. */
export const whereExpression = (where: Where | undefined, dialect: Dialect) => {
  if (!where || Object.keys(where).length === 0) return undefined
  return (eb: Eb) => eb.and(Object.entries(where).flatMap(([name, cond]) => onColumn(eb, name, cond, dialect)))
}
