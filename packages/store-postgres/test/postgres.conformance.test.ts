import type { Datastore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import { postgresStore } from '@do-sdk/store-postgres'
import pg from 'pg'
import { afterAll, describe, it } from 'vitest'
import { startPostgresForTests } from './postgres-server.js'

const server = await startPostgresForTests()
afterAll(() => server?.stop())

let n = 0
const namespaces = new WeakMap<Datastore, string>()
const open = (namespace = `conf${++n}`) => {
  const store = postgresStore({ connectionString: server?.connectionString as string }, { namespace })
  namespaces.set(store, namespace)
  return store
}
const pools = new WeakMap<Datastore, pg.Pool>()

describe.skipIf(!server)('postgres', () => {
  datastoreConformance({ describe, it }, () => open(), {
    name: 'postgresStore conformance',
    factoryWithNamespace: (ns) => open(ns),
    reopen: (store) => open(namespaces.get(store)),
    breakStore: async (store) => {
      await store.get('warm-up') // opens the pool first, so closing it is what breaks the store
      await store.close?.()
    },
  })

  // The same suite through a pool the test owns, in another schema, with prepared statements;
  // broken by ending that pool under the store.
  datastoreConformance(
    { describe, it },
    () => {
      const pool = new pg.Pool({ connectionString: server?.connectionString, max: 4 })
      pool.on('error', () => {})
      const store = postgresStore({ pool }, { schema: 'Own Pool "schema"', namespace: `pool${++n}`, preparedStatements: true })
      pools.set(store, pool)
      const close = store.close?.bind(store)
      return Object.assign(store, {
        close: async () => {
          await close?.()
          await pool.end().catch(() => {})
        },
      })
    },
    { name: 'postgresStore conformance (existing pool)', breakStore: (store) => pools.get(store)?.end() },
  )
})
