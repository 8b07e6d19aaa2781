import pg from 'pg'
import { expect, it } from 'vitest'
import { databaseActions } from '../src/index.js'
import { type PostgresServer, postgresBinDir, startPostgres } from './servers/postgres.js'
import { freePort, missing } from './servers/util.js'
import type { Harness } from './suite/context.js'
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
  },
)
