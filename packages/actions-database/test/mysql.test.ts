import { ValidationError } from '@do-sdk/core'
import mysql from 'mysql2/promise'
import { expect, it } from 'vitest'
import { DatabaseError, databaseActions } from '../src/index.js'
import { type MysqlServer, mysqlBinaries, startMysql } from './servers/mysql.js'
import { freePort, missing } from './servers/util.js'
import { type Harness, rejection } from './suite/context.js'
import { defineDatabaseSuite } from './suite/index.js'

let server: MysqlServer

const start = async (): Promise<Harness> => {
  server = await startMysql()
  console.info(`[actions-database] MariaDB ready in ${server.startupMs} ms`)
  const { host, port, user, password, database, uri } = server
  const direct = mysql.createPool({ uri, connectionLimit: 2 })
  return {
    dialect: 'mysql',
    options: { dialect: 'mysql', uri },
    altOptions: { dialect: 'mysql', pool: { host, port, user, password, database, connectionLimit: 2 } },
    exec: async (sql) => {
      const [result] = await direct.query(sql)
      return Array.isArray(result) ? (result as Record<string, unknown>[]) : []
    },
    transient: async () => ({
      options: { dialect: 'mysql', uri: `mysql://${user}:${password}@127.0.0.1:${await freePort()}/${database}` },
      release: async () => {},
    }),
    wrongPassword: {
      options: { dialect: 'mysql', uri: `mysql://${user}:wrong-${password}@127.0.0.1:${port}/${database}` },
      secrets: [`wrong-${password}`, password],
    },
    stop: async () => {
      await direct.end()
      await server.stop()
    },
  }
}

defineDatabaseSuite(
  { dialect: 'mysql', missing: mysqlBinaries() ? undefined : missing('mariadbd / mariadb-install-db', 'mariadb-server'), start },
  (t) => {
    // docs/packs/database.md: "`NO_BACKSLASH_ESCAPES` is removed from each connection's `sql_mode`"
    it('stores values verbatim when the server runs with NO_BACKSLASH_ESCAPES (client-side escaping would break)', async () => {
      await server.admin("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')")
      const fresh = databaseActions(t.harness.options)
      try {
        const mode = await fresh.query.execute({ sql: 'SELECT @@GLOBAL.sql_mode AS mode' })
        expect(mode.rows[0].mode).toContain('NO_BACKSLASH_ESCAPES')
        const name = "\\', (SELECT 1)) -- "
        await fresh.insert.execute({ table: 'users', values: { email: 'nb@x', name } })
        expect(await t.harness.exec('SELECT email, name FROM users')).toEqual([{ email: 'nb@x', name }])
      } finally {
        await fresh.close()
        await server.admin("SET GLOBAL sql_mode = REPLACE(@@GLOBAL.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
      }
    })

    // docs/packs/database.md: "connection refused/reset/lost … `DatabaseError` (`retryable: true`, `driverCode`)"
    it('survives the server killing its connections, idle or in use: a retryable error, then a fresh connection', async () => {
      const pack = databaseActions(t.harness.options)
      const mine = async () => (await pack.query.execute({ sql: 'SELECT CONNECTION_ID() AS id' })).rows[0]?.id
      try {
        const sleeping = rejection(pack.query.execute({ sql: 'SELECT SLEEP(60) AS s' }, { retry: false }))
        const until = Date.now() + 10_000
        while ((await t.harness.exec("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'")).length === 0) {
          if (Date.now() > until) throw new Error('the statement never started')
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        const [running] = await t.harness.exec("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'")
        await t.harness.exec(`KILL ${Number(running?.ID)}`)
        const err = await sleeping
        expect(err).toBeInstanceOf(DatabaseError)
        // The pool's connection is idle now: kill it between two calls.
        await t.harness.exec(`KILL ${Number(await mine())}`)
        await pack.insert.execute({ table: 'users', values: { email: 'after-kill@x' } }, { retry: { retries: 3, minTimeout: 0 } })
        expect(await t.harness.exec("SELECT email FROM users WHERE email = 'after-kill@x'")).toHaveLength(1)
      } finally {
        await pack.close()
      }
    })

    // docs/packs/database.md: "objects and arrays never reach it (mysql2 would expand an object into `key = value` SQL)"
    it('never hands mysql2 an object or an array as a parameter: refused before any SQL', async () => {
      for (const attempt of [
        t.db.select.execute({ table: 'users', where: { email: { email: 'a@x' } as never } }),
        t.db.query.execute({ sql: 'SELECT * FROM users WHERE email = ?', params: [{ email: 'a@x' } as never] }),
        t.db.insert.execute({ table: 'users', values: { email: { toString: () => 'x' } as never } }),
      ]) {
        expect(await rejection(attempt)).toBeInstanceOf(ValidationError)
      }
    })
  },
)
