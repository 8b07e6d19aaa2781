import type { Duration, RetryOptions } from '@do-sdk/core'
import type { Kysely } from 'kysely'
import type { Dialect } from './errors.js'

/** Options every dialect shares. */
export interface CommonOptions {
  /**
   * Prefix of the action ids (`<name>.insert`, `<name>.select`, …) and suffix of the plugin name; give each
   * database its own when an engine uses several. Letters, digits and `. _ - : @ /`.
   * @default 'database'
   */
  name?: string
  /**
   * The tables the actions may touch. A list of table names, or table → the columns allowed in it (then
   * `*` in `select` and `returning` stands for those columns only). Anything else is refused with a
   * `ValidationError` before any SQL runs. Without it, any table and column may be named (always quoted).
   * @default undefined (every table)
   */
  tables?: readonly string[] | Readonly<Record<string, readonly string[]>>
  /**
   * Whether the `query` action (parameterized raw SQL) may run. Raw SQL cannot be checked against `tables`.
   * @default true without `tables`, false with `tables`
   */
  allowRawQuery?: boolean
  /**
   * Most rows a `select` or a `query` may give back (step outputs are stored with the run). More fails
   * with a `NonRetryableError` instead of truncating (a raw write has then still been applied).
   * @default 1000
   */
  maxRows?: number
  /** Schema (PostgreSQL), database (MySQL) or attached database (SQLite) that qualifies every table. @default none */
  schema?: string
  /** Retry policy of every action (p-retry options). @default { retries: 3, factor: 2, minTimeout: 100, randomize: true } */
  retry?: RetryOptions | false
  /** Per-attempt timeout of every action (ms or `'30s'`). @default none */
  timeout?: Duration
}

/** SQLite on a file, through better-sqlite3 (loaded on first use). */
export interface SqliteOptions extends CommonOptions {
  dialect: 'sqlite'
  /** Path of the database file (created when missing), or `:memory:`. */
  path: string
  /** Open the file read-only. @default false */
  readonly?: boolean
  /** How long a statement waits for another connection's lock before failing with a retryable `SQLITE_BUSY`, in ms. @default 5000 */
  busyTimeoutMs?: number
}

/** pg `PoolConfig` fields the pack knows about; any other pg pool option is passed through. */
export interface PostgresPoolConfig {
  host?: string
  port?: number
  user?: string
  /** Never appears in an error message. */
  password?: string
  database?: string
  ssl?: boolean | Record<string, unknown>
  /** Largest number of connections. @default 10 (pg's default) */
  max?: number
  /** How long to wait for a connection before a retryable error, in ms. @default 10000 (pg's own default waits forever) */
  connectionTimeoutMillis?: number
  idleTimeoutMillis?: number
  [option: string]: unknown
}

/** PostgreSQL through a pg `Pool` (loaded on first use). Give `connectionString`, `pool`, or both (merged). */
export interface PostgresOptions extends CommonOptions {
  dialect: 'postgres'
  /** `postgres://user:password@host:port/database?…`; the password never appears in an error message. */
  connectionString?: string
  /** pg pool options (`host`, `user`, `password`, `max`, `ssl`, …). */
  pool?: PostgresPoolConfig
}

/** mysql2 pool options the pack knows about; any other is passed through, except the unsafe ones refused below. */
export interface MysqlPoolConfig {
  host?: string
  port?: number
  user?: string
  /** Never appears in an error message. */
  password?: string
  database?: string
  socketPath?: string
  ssl?: string | Record<string, unknown>
  /** @default 10 (mysql2's default) */
  connectionLimit?: number
  connectTimeout?: number
  /** Time zone of DATETIME values written from and read into `Date`s. @default 'Z' (UTC; mysql2's default is local time) */
  timezone?: string
  /** Refused when `false`: mysql2 would expand bound objects into SQL. Always `true`. */
  stringifyObjects?: true
  /** Refused when `true`: one call runs one statement. */
  multipleStatements?: false
  /** Refused when `true`: the pack binds named parameters itself. */
  namedPlaceholders?: false
  [option: string]: unknown
}

/** MySQL or MariaDB through a mysql2 pool (loaded on first use). Give `uri`, `pool`, or both (merged). */
export interface MysqlOptions extends CommonOptions {
  dialect: 'mysql'
  /** `mysql://user:password@host:port/database`; the password never appears in an error message. */
  uri?: string
  /** mysql2 pool options (`host`, `user`, `password`, `connectionLimit`, …). */
  pool?: MysqlPoolConfig
}

/**
 * A Kysely instance you already have. `dialect` says which SQL it speaks (declared, not sniffed). `close()`
 * leaves it open: whoever created it destroys it. For MySQL, create its pool with `stringifyObjects: true`.
 */
export interface KyselyInstanceOptions extends CommonOptions {
  dialect: Dialect
  db: Kysely<any>
}

/** Options of {@link databaseActions}: one dialect's connection, or an existing Kysely instance. */
export type DatabaseActionsOptions = SqliteOptions | PostgresOptions | MysqlOptions | KyselyInstanceOptions
