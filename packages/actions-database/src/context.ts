import { type ActionContext, NonRetryableError } from '@do-sdk/core'
import type { CompiledQuery, Kysely, QueryResult } from 'kysely'
import type { Dialect } from './errors.js'
import { toActionError } from './failure.js'
import type { AllowList } from './identifiers.js'

/** What every action of one `databaseActions(...)` shares, plus the signal of the attempt running. */
export interface PackContext {
  db: Kysely<any>
  dialect: Dialect
  secrets: readonly string[]
  maxRows: number
  allow?: AllowList
  schema?: string
  /** SQLite: how long a statement waits, asynchronously, for another connection's lock (ms). */
  busyTimeoutMs: number
  isClosed(): boolean
  /** The attempt's signal (set per call by {@link guarded}): checked before each statement. */
  signal?: AbortSignal
}

/** The query builder, under the `schema` option when there is one. */
export const builder = (pack: PackContext): Kysely<any> => (pack.schema ? pack.db.withSchema(pack.schema) : pack.db)

/**
 * Runs one compiled statement. On MySQL, mysql2 fills the `?`s of the SQL text on the client without
 * knowing about quotes, so a `?` that is not a placeholder (inside a literal) would shift every value:
 * such a statement is refused instead.
 */
export const execute = async <R = Record<string, unknown>>(pack: PackContext, query: CompiledQuery): Promise<QueryResult<R>> => {
  // Before each statement, not only before the first: an idempotent insert runs two or three.
  pack.signal?.throwIfAborted()
  if (pack.dialect === 'mysql' && query.parameters.length > 0) {
    const marks = query.sql.split('?').length - 1
    if (marks !== query.parameters.length) {
      throw new NonRetryableError(
        `[do-sdk] [database:mysql] The SQL holds ${marks} "?" for ${query.parameters.length} parameters: a "?" inside a string or identifier cannot be combined with parameters on MySQL; bind that value too`,
      )
    }
  }
  if (pack.dialect === 'sqlite') return waitingForLocks(pack, () => pack.db.executeQuery<R>(query))
  return pack.db.executeQuery<R>(query)
}

const isBusy = (error: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown } | null)?.code ?? ''))

/**
 * Runs a SQLite statement again while another connection holds the lock, for up to `busyTimeoutMs`,
 * sleeping between tries. SQLite's own busy timeout would sleep in the calling thread and freeze the
 * event loop (every run of the engine with it); this waits without blocking.
 */
const waitingForLocks = async <T>(pack: PackContext, run: () => Promise<T>): Promise<T> => {
  const deadline = Date.now() + pack.busyTimeoutMs
  for (let tries = 0; ; tries++) {
    try {
      return await run()
    } catch (error) {
      const left = deadline - Date.now()
      if (!isBusy(error) || left <= 0) throw error
      const pause = Math.min(left, 2 ** Math.min(tries, 6) * (1 + Math.random()))
      await new Promise<void>((resolve) => setTimeout(resolve, pause))
      pack.signal?.throwIfAborted()
    }
  }
}

/**
 * Runs an action's body with the attempt's signal: refuses after `close()` or an aborted signal, and
 * turns driver errors into the pack's errors.
 */
export const guarded = async <T>(
  pack: PackContext,
  op: string,
  table: string | undefined,
  ctx: ActionContext,
  body: (pack: PackContext) => Promise<T>,
) => {
  if (pack.isClosed()) throw new NonRetryableError(`[do-sdk] [database:${pack.dialect}] ${op}: the database actions were closed`)
  ctx.signal.throwIfAborted()
  try {
    const result = await body({ ...pack, signal: ctx.signal })
    ctx.log.debug(`database ${op}`, { dialect: pack.dialect, table })
    return result
  } catch (error) {
    const failure = toActionError(error, { dialect: pack.dialect, op, table, secrets: pack.secrets })
    ctx.log.debug(`database ${op} attempt ${ctx.attempt} failed`, { dialect: pack.dialect, table, error: failure.message })
    throw failure
  }
}

/** Refuses more than `maxRows` rows (step outputs are stored with the run). */
export const capRows = (pack: PackContext, op: string, count: number, hint: string): void => {
  if (count > pack.maxRows) {
    throw new NonRetryableError(`[do-sdk] [database:${pack.dialect}] ${op} gave more than maxRows (${pack.maxRows}) rows; ${hint}`)
  }
}

/** A driver's count or id as a JSON-safe number (a string past 2^53). */
export const toNumberish = (value: bigint | number | string | undefined): number | string | undefined => {
  if (value === undefined) return undefined
  const big = BigInt(value)
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big.toString()
}
