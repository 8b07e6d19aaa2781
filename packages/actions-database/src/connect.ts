import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely'
import { type DriverLoader, importDriver, isMissingBinding, loadDriver } from './drivers.js'
import { type Dialect, MissingDriverError } from './errors.js'
import type { DatabaseActionsOptions } from './options.js'

/** A connection the pack uses, and whether it owns it (and so closes it). */
export interface Connection {
  db: Kysely<any>
  dialect: Dialect
  owned: boolean
}

// Drivers are optional peer dependencies: each is imported on the first query, so an app that only uses
// SQLite never needs pg or mysql2 installed.
type PgModule = { Pool: new (config: Record<string, unknown>) => PgPool }
type PgClient = { on(event: 'error', listener: (err: Error) => void): void }
type PgPool = {
  on(event: 'error', listener: (err: Error) => void): void
  on(event: 'connect', listener: (client: PgClient) => void): void
}
type Mysql2Module = { createPool(config: Record<string, unknown>): MysqlPool }
type MysqlPool = { on(event: string, listener: (...args: unknown[]) => void): void }
type SqliteModule = new (path: string, options: Record<string, unknown>) => SqliteDatabase
type SqliteDatabase = { pragma(source: string): unknown; defaultSafeIntegers(on: boolean): unknown }

const sqlite = (path: string, readonly: boolean, loader: DriverLoader) =>
  new SqliteDialect({
    database: async () => {
      const Database = await loadDriver<SqliteModule>('sqlite', loader)
      let db: SqliteDatabase
      try {
        // timeout 0: SQLite's busy handler sleeps in the calling thread, which would freeze the event
        // loop; a locked database is waited for asynchronously instead (see `execute` in context.ts).
        db = new Database(path, { readonly, timeout: 0 })
      } catch (error) {
        if (isMissingBinding(error)) throw new MissingDriverError('sqlite', 'better-sqlite3', { cause: error, notBuilt: true })
        throw error
      }
      // Off by default in SQLite; a foreign key the schema declares should hold.
      db.pragma('foreign_keys = ON')
      // Integers as BigInt, so that an id past 2^53 is read exactly (as a string in the output, see plainRows)
      // instead of rounded to the nearest double.
      db.defaultSafeIntegers(true)
      return db as never
    },
  })

const postgres = (connectionString: string | undefined, pool: Record<string, unknown> | undefined, loader: DriverLoader) =>
  new PostgresDialect({
    pool: async () => {
      const { Pool } = await loadDriver<PgModule>('postgres', loader)
      // pg waits forever for a connection by default; a blackholed server would hang the attempt.
      const p = new Pool({ connectionTimeoutMillis: 10_000, ...pool, ...(connectionString ? { connectionString } : {}) })
      // An idle client that loses its connection emits 'error' on the pool; unhandled, it would crash the
      // process. The next query gets a fresh connection (or a retryable error).
      p.on('error', () => {})
      // A client checked out when its connection drops emits 'error' on itself, where the pool no longer
      // listens (and Kysely never does): that would crash the process too. Its query fails (retryable).
      p.on('connect', (client) => client.on('error', () => {}))
      return p as never
    },
  })

const mysql = (uri: string | undefined, pool: Record<string, unknown> | undefined, loader: DriverLoader) =>
  new MysqlDialect({
    pool: async () => {
      const { createPool } = await loadDriver<Mysql2Module>('mysql', loader)
      const p = createPool({
        timezone: 'Z',
        supportBigNumbers: true,
        ...pool,
        ...(uri ? { uri } : {}),
        stringifyObjects: true,
        multipleStatements: false,
        namedPlaceholders: false,
      })
      p.on('error', () => {})
      return p as never
    },
    // mysql2 escapes values on the client with backslashes; under NO_BACKSLASH_ESCAPES that escaping is
    // unsound (a "\'" ends the string). Each connection drops the mode.
    onCreateConnection: async (connection) => {
      await connection.executeQuery(CompiledQuery.raw("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')"))
    },
  })

/** Opens (lazily: no I/O, and no driver loaded, until the first query) the connection the options describe. */
export const connect = (options: DatabaseActionsOptions, loader: DriverLoader = importDriver): Connection => {
  if ('db' in options) return { db: options.db, dialect: options.dialect, owned: false }
  switch (options.dialect) {
    case 'sqlite':
      return { db: new Kysely<any>({ dialect: sqlite(options.path, options.readonly ?? false, loader) }), dialect: 'sqlite', owned: true }
    case 'postgres':
      return {
        db: new Kysely<any>({ dialect: postgres(options.connectionString, options.pool, loader) }),
        dialect: 'postgres',
        owned: true,
      }
    case 'mysql':
      return { db: new Kysely<any>({ dialect: mysql(options.uri, options.pool, loader) }), dialect: 'mysql', owned: true }
  }
}
