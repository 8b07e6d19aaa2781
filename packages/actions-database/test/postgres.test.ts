import pg from 'pg'
import { expect, it } from 'vitest'
import { DatabaseError, databaseActions } from '../src/index.js'
import { type PostgresServer, postgresBinDir, startPostgres } from './servers/postgres.js'
import { freePort, missing } from './servers/util.js'
import { type Harness, rejection } from './suite/context.js'
import { defineDatabaseSuite } from './suite/index.js'

let server: PostgresServer

const start = async (): Promise<Harness> => {
  server = await startPostgres()
  console.info(`[actions-database] PostgreSQL ready in ${server.startupMs} ms`)
  const { host, port, user, password, database, connectionString } = server
  const direct = new pg.Pool({ connectionString, max: 2 })
  return {
    dialect: 'postgres',
    options: { dialect: 'postgres', connectionString },
    altOptions: { dialect: 'postgres', pool: { host, port, user, password, database, max: 2 } },
    exec: async (sql) => (await direct.query(sql)).rows,
    transient: async () => ({
      options: { dialect: 'postgres', connectionString: `postgres://${user}:${password}@127.0.0.1:${await freePort()}/${database}` },
      release: async () => {},
    }),
    wrongPassword: {
      options: { dialect: 'postgres', connectionString: `postgres://${user}:wrong-${password}@127.0.0.1:${port}/${database}` },
      secrets: [`wrong-${password}`, password],
    },
    stop: async () => {
      await direct.end()
      await server.stop()
    },
  }
}

defineDatabaseSuite(
  { dialect: 'postgres', missing: postgresBinDir() ? undefined : missing('initdb / pg_ctl', 'postgresql'), start },
  (t) => {
    // docs/packs/database.md: "schema (PostgreSQL), database (MySQL) or attached database (SQLite) that qualifies every table of the builder actions"
    it('qualifies every table with the schema option', async () => {
      await t.harness.exec('CREATE SCHEMA IF NOT EXISTS tenant_a')
      await t.harness.exec('CREATE TABLE IF NOT EXISTS tenant_a.users (email TEXT PRIMARY KEY)')
      const tenant = databaseActions({ ...t.harness.options, schema: 'tenant_a' })
      try {
        await tenant.insert.execute({ table: 'users', values: { email: 'in-tenant@x' } })
        expect(await t.harness.exec('SELECT email FROM tenant_a.users')).toEqual([{ email: 'in-tenant@x' }])
        expect(await t.harness.exec('SELECT email FROM public.users')).toEqual([])
      } finally {
        await tenant.close()
      }
    })

    // docs/packs/database.md: "`connectionString` (`postgres://…`) **or** `pool` (pg `PoolConfig`: `host`, `port`, `user`, `password`, `database`, `ssl`, `max`, …); both are merged"
    // docs/packs/database.md: "`error` listener on the pool and on each client, so that a connection dropped by the server, idle or in use, does not crash the process"
    it('survives the server dropping its connections, idle or in use: a retryable error, then a fresh connection', async () => {
      const pack = databaseActions({ ...t.harness.options, pool: { application_name: 'do-sdk-drop-test', max: 2 } } as never)
      const backends = (extra = '') =>
        t.harness.exec(`SELECT pid FROM pg_stat_activity WHERE application_name = 'do-sdk-drop-test' ${extra}`)
      try {
        // In use: the statement runs when the server ends its connection. The client then emits 'error'
        // while checked out, where neither pg's pool nor Kysely listens: unhandled, the process would exit.
        const sleeping = rejection(pack.query.execute({ sql: 'SELECT pg_sleep(60)' }, { retry: false }))
        const until = Date.now() + 10_000
        while ((await backends("AND state = 'active' AND query LIKE '%pg_sleep%'")).length === 0) {
          if (Date.now() > until) throw new Error('the statement never started')
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        await t.harness.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'do-sdk-drop-test'")
        const err = await sleeping
        expect(err).toBeInstanceOf(DatabaseError)
        expect(err.message).toMatch(/terminat/i)
        // Idle: dropped between two calls.
        await pack.select.execute({ table: 'users' })
        await t.harness.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'do-sdk-drop-test'")
        await pack.insert.execute({ table: 'users', values: { email: 'after-drop@x' } }, { retry: { retries: 3, minTimeout: 0 } })
        expect(await t.harness.exec("SELECT email FROM users WHERE email = 'after-drop@x'")).toHaveLength(1)
      } finally {
        await pack.close()
      }
    })

    // docs/packs/database.md: "`schema` | none | schema (PostgreSQL), database (MySQL) or attached database (SQLite) that qualifies every table"
    it('quotes a hostile schema name: it names no schema, and nothing else runs', async () => {
      const hostile = databaseActions({ ...t.harness.options, schema: 'public"; DROP TABLE x; --' })
      try {
        const err = await rejection(hostile.select.execute({ table: 'users' }, { retry: false }))
        expect(err.message).toMatch(/does not exist/)
        expect(await t.harness.exec('SELECT * FROM x')).toEqual([])
      } finally {
        await hostile.close()
      }
    })
  },
)
