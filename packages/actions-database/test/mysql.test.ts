import mysql from 'mysql2/promise'
import { expect, it } from 'vitest'
import { databaseActions } from '../src/index.js'
import { type MysqlServer, mysqlBinaries, startMysql } from './servers/mysql.js'
import { freePort, missing } from './servers/util.js'
import type { Harness } from './suite/context.js'
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
  },
)
