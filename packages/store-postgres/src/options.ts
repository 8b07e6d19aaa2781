import { InvalidArgumentError } from '@do-sdk/core'

/**
 * The parts of a node-postgres `Pool` the store uses. Any `pg.Pool` (pg 8) fits; declared here so
 * that the store's types need neither `pg` nor `@types/pg`.
 */
export interface PgPool {
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: any[]; rowCount?: number | null }>
  connect(): Promise<{ query(text: string, values?: unknown[]): Promise<{ rows: any[] }>; release(error?: Error | boolean): void }>
  end(): Promise<void>
}

/**
 * How to reach PostgreSQL: a connection string (the store opens a `pg.Pool` and closes it on
 * `close()`), or a `pg.Pool` you own (the store never ends it).
 */
export type PostgresConnection =
  | {
      /** `postgres://user:password@host:5432/database?sslmode=…`, or a PgBouncer address (see `listenConnectionString`). */
      connectionString: string
      /** Connections of the pool the store opens. @default 10 */
      poolSize?: number
    }
  | {
      /** A `pg.Pool` you own: the store uses it and never ends it. */
      pool: PgPool
    }

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /** Schema holding the store's table and function (created on first use when missing). @default 'public' */
  schema?: string
  /** Isolates this app's keys from other apps in the same schema: any string up to 256 characters (it is a column, not a key prefix). @default '' */
  namespace?: string
  /**
   * A direct (session) connection string for LISTEN, when the main connection goes through a
   * transaction-mode pooler such as PgBouncer, where LISTEN does not work. @default the main connection's settings
   */
  listenConnectionString?: string
  /**
   * Named prepared statements: each statement is parsed and planned once per connection instead of
   * on every call (36–40 µs less per call, measured). `'auto'` uses them until the server refuses
   * one the way a transaction-mode pooler that does not carry them does (PgBouncer before 1.21, or
   * without `max_prepared_statements`: SQLSTATE 26000 or 42P05, raised before anything ran), then
   * sends that call again unnamed and names no statement from then on. `true` always names them
   * (such a refusal fails the call); `false` never does.
   * @default 'auto'
   */
  preparedStatements?: boolean | 'auto'
  /** How often the sweeper deletes expired rows of this namespace, in ms; 0 turns it off. @default 60_000 */
  sweepIntervalMs?: number
  /** Rows one sweep statement deletes at most; a round runs at most 10 of them. @default 1_000 */
  sweepBatchSize?: number
  /**
   * Create and migrate the schema on first use. When false, the store only checks the schema version
   * and fails with a `StoreError` saying which version is missing (for roles without CREATE). @default true
   */
  migrate?: boolean
}

/** Options after validation, defaults filled in. */
export interface ResolvedOptions {
  schema: string
  namespace: string
  listenConnectionString: string | undefined
  preparedStatements: boolean | 'auto'
  sweepIntervalMs: number
  sweepBatchSize: number
  migrate: boolean
}

export const NAME = 'postgres'
const bad = (message: string) => new InvalidArgumentError(`[do-sdk] [${NAME}] ${message}`)

const isPool = (x: unknown): x is PgPool =>
  typeof x === 'object' && x !== null && typeof (x as PgPool).query === 'function' && typeof (x as PgPool).connect === 'function'

/** Validates the connection argument: what the store must open, or the pool it was given. */
export const checkConnection = (connection: PostgresConnection): { pool: PgPool } | { connectionString: string; poolSize: number } => {
  const c = connection as { connectionString?: unknown; pool?: unknown; poolSize?: unknown } | undefined
  if (c?.pool !== undefined) {
    if (!isPool(c.pool)) throw bad('Option "pool" must be a pg.Pool (new Pool(...) from "pg").')
    return { pool: c.pool }
  }
  if (typeof c?.connectionString !== 'string' || c.connectionString === '') {
    throw bad('Missing required option "connectionString" (or "pool").')
  }
  const poolSize = c.poolSize ?? 10
  if (typeof poolSize !== 'number' || !Number.isInteger(poolSize) || poolSize < 1) {
    throw bad(`Option "poolSize" must be an integer >= 1, got ${String(poolSize)}.`)
  }
  return { connectionString: c.connectionString, poolSize }
}

const ms = (name: string, value: unknown, fallback: number, min: number) => {
  const v = value ?? fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw bad(`Option "${name}" must be a number >= ${min}, got ${String(v)}.`)
  return v
}

/** Validates the options and fills in their defaults. */
export const resolveOptions = (options: PostgresStoreOptions = {}): ResolvedOptions => {
  const schema = options.schema ?? 'public'
  if (typeof schema !== 'string' || schema === '' || Buffer.byteLength(schema) > 63 || schema.includes('\u0000')) {
    throw bad(`Option "schema" must be a PostgreSQL identifier of 1 to 63 bytes without NUL, got ${JSON.stringify(schema)}.`)
  }
  const namespace = options.namespace ?? ''
  if (typeof namespace !== 'string' || namespace.length > 256) {
    throw bad(`Option "namespace" must be a string of at most 256 characters, got ${JSON.stringify(namespace)}.`)
  }
  const listen = options.listenConnectionString
  if (listen !== undefined && (typeof listen !== 'string' || listen === '')) {
    throw bad('Option "listenConnectionString" must be a non-empty connection string.')
  }
  const prepared = options.preparedStatements ?? 'auto'
  if (typeof prepared !== 'boolean' && prepared !== 'auto') {
    throw bad(`Option "preparedStatements" must be true, false or "auto", got ${JSON.stringify(prepared)}.`)
  }
  if (options.migrate !== undefined && typeof options.migrate !== 'boolean') throw bad('Option "migrate" must be a boolean.')
  const sweepBatchSize = ms('sweepBatchSize', options.sweepBatchSize, 1_000, 1)
  if (!Number.isInteger(sweepBatchSize)) throw bad(`Option "sweepBatchSize" must be an integer, got ${sweepBatchSize}.`)
  return {
    schema,
    namespace,
    listenConnectionString: listen,
    preparedStatements: prepared,
    sweepIntervalMs: ms('sweepIntervalMs', options.sweepIntervalMs, 60_000, 0),
    sweepBatchSize,
    migrate: options.migrate ?? true,
  }
}
