import { NonRetryableError } from '@do-sdk/core'

/** The SQL dialects the pack speaks. */
export type Dialect = 'sqlite' | 'postgres' | 'mysql'

/** What kind of constraint a row broke. */
export type ConstraintKind = 'unique' | 'foreign_key' | 'check' | 'not_null' | 'exclusion' | 'unknown'

/**
 * A database failure that another attempt may fix: the connection was refused or lost, a deadlock or a
 * serialization failure, a busy SQLite file, too many connections. Not a `NonRetryableError`, so the
 * action's retry policy (and the engine's durable retries) apply.
 */
export class DatabaseError extends Error {
  /** The dialect of the database that failed. */
  readonly dialect: Dialect
  /** The driver's code: a SQLSTATE (`40P01`), a MySQL error name (`ER_LOCK_DEADLOCK`), `SQLITE_BUSY`, `ECONNREFUSED`… */
  readonly driverCode?: string
  /** Always true: the pack throws this class only for failures worth another attempt. */
  readonly retryable = true

  constructor(message: string, dialect: Dialect, driverCode: string | undefined, options?: { cause?: unknown }) {
    super(message.startsWith('[do-sdk]') ? message : `[do-sdk] ${message}`, options)
    this.name = 'DatabaseError'
    this.dialect = dialect
    this.driverCode = driverCode
  }
}

/**
 * A row broke a constraint (unique, foreign key, check, not null). Never retried: the same row breaks the
 * same constraint on every attempt. `constraint` names it when the database says which one.
 */
export class ConstraintViolationError extends NonRetryableError {
  /** The constraint's name (`users_email_key`), or the column(s) when the database names no constraint (SQLite). */
  readonly constraint?: string
  readonly kind: ConstraintKind
  readonly dialect: Dialect
  /** The table the statement wrote to. */
  readonly table?: string

  constructor(
    message: string,
    details: { constraint?: string; kind: ConstraintKind; dialect: Dialect; table?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ConstraintViolationError'
    this.constraint = details.constraint
    this.kind = details.kind
    this.dialect = details.dialect
    this.table = details.table
  }
}

/** Install commands, for the message of {@link MissingDriverError}. */
const install = (name: string) => `npm install ${name} (or: pnpm add ${name}, yarn add ${name})`

/**
 * The driver a dialect needs is not installed (`better-sqlite3`, `pg` and `mysql2` are optional peer
 * dependencies: install the one you use), or installed without its native build. Never retried.
 */
export class MissingDriverError extends NonRetryableError {
  readonly dialect: Dialect
  /** The npm package to install: `better-sqlite3`, `pg` or `mysql2`. */
  readonly driver: string
  /** What installs it, e.g. `npm install pg`. */
  readonly installCommand: string

  constructor(dialect: Dialect, driver: string, options?: { cause?: unknown; notBuilt?: boolean }) {
    super(
      options?.notBuilt
        ? `[database:${dialect}] The "${driver}" driver is installed but its native module was not built. ` +
            `Rebuild it (npm rebuild ${driver}); with pnpm 10, list it in pnpm.onlyBuiltDependencies and run pnpm install.`
        : `[database:${dialect}] The "${driver}" driver is not installed. ` +
            `The ${dialect} dialect needs it next to @do-sdk/actions-database: ${install(driver)}.`,
      { cause: options?.cause },
    )
    this.name = 'MissingDriverError'
    this.dialect = dialect
    this.driver = driver
    this.installCommand = `npm install ${driver}`
  }
}
