// The store behind PgBouncer in transaction mode (each transaction may run on another server
// connection): the whole conformance suite, migrations on first use through the pooler, group
// commit, and LISTEN on a direct connection (`listenConnectionString`). Under CI=true a missing
// PgBouncer or PostgreSQL fails; elsewhere these tests are skipped loudly.
import type { Datastore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import { postgresStore } from '@do-sdk/store-postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { havePgBouncer, type PgBouncer, startPgBouncer } from './pgbouncer-server.js'
import { havePostgres, type PostgresServer, startPostgres } from './postgres-server.js'

const run = havePostgres() && havePgBouncer()
if (!run) console.warn('\n*** pgbouncer or PostgreSQL not found: SKIPPING the PgBouncer tests (CI=true makes this a failure) ***\n')
const server: PostgresServer | undefined = run ? await startPostgres() : undefined
const bouncer: PgBouncer | undefined = server ? await startPgBouncer(server) : undefined
afterAll(async () => {
  await bouncer?.stop()
  await server?.stop()
})

let n = 0
const namespaces = new WeakMap<Datastore, string>()
const open = (namespace = `bouncer${++n}`) => {
  const store = postgresStore(
    { connectionString: bouncer?.connectionString as string, poolSize: 8 },
    { namespace, listenConnectionString: server?.connectionString as string },
  )
  namespaces.set(store, namespace)
  return store
}

describe.skipIf(!run)('behind PgBouncer (transaction mode)', () => {
  datastoreConformance({ describe, it }, () => open(), {
    name: 'postgresStore conformance through PgBouncer',
    factoryWithNamespace: (ns) => open(ns),
    reopen: (store) => open(namespaces.get(store)),
  })

  it('migrates on first use through the pooler and group-commits many batches at once', async () => {
    const store = postgresStore({ connectionString: bouncer?.connectionString as string }, { schema: 'via_bouncer', namespace: 'g' })
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.batch([{ op: 'set', key: `k/${i % 50}`, value: String(i), ifVersion: i < 50 ? 0 : undefined }]),
      ),
    )
    expect(results.every((r) => r.ok)).toBe(true)
    expect(await store.count?.('k/')).toBe(50)
    expect((await store.get('k/7'))?.version).toBe(4)
    await store.close?.()
  })
})
