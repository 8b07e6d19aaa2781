// The store behind PgBouncer in transaction mode (each transaction may run on another server
// connection): the whole conformance suite, migrations on first use through the pooler, group
// commit, and LISTEN on a direct connection (`listenConnectionString`). Under CI=true a missing
// PgBouncer or PostgreSQL fails; elsewhere these tests are skipped loudly.
import type { Datastore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import { postgresStore } from '@do-sdk/store-postgres'
import pg from 'pg'
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

describe.skipIf(!run)('named prepared statements (preparedStatements)', () => {
  const names = async (pool: pg.Pool) =>
    (await pool.query("SELECT name FROM pg_prepared_statements WHERE name LIKE 'do_sdk_%'")).rows.map((r) => r.name as string)

  it('are used on a direct connection by default ("auto"), and never with false', async () => {
    for (const [prepared, expected] of [
      [undefined, true],
      [false, false],
    ] as const) {
      const pool = new pg.Pool({ connectionString: server?.connectionString, max: 1 })
      const store = postgresStore(
        { pool },
        { namespace: `direct-${String(prepared)}`, ...(prepared === undefined ? {} : { preparedStatements: prepared }) },
      )
      expect(await store.batch([{ op: 'set', key: 'k', value: 'v' }])).toEqual({ ok: true, versions: [1] })
      expect((await store.get('k'))?.value).toBe('v')
      expect((await names(pool)).length > 0).toBe(expected)
      await store.close?.()
      await pool.end()
    }
  })

  it('through PgBouncer 1.18 with one server connection: true fails on the refused name, "auto" goes on unnamed', async () => {
    // Two clients share the one server connection: the second parses a name the first one left there (42P05).
    const single = await startPgBouncer(server as PostgresServer, 1)
    const pair = (prepared: boolean | 'auto', namespace: string) =>
      [1, 2].map(() =>
        postgresStore(
          { connectionString: single.connectionString, poolSize: 1 },
          { schema: 'named', namespace, preparedStatements: prepared },
        ),
      ) as [Datastore, Datastore]
    try {
      const [a, b] = pair(true, 'always')
      expect(await a.batch([{ op: 'set', key: 'k', value: 'a' }])).toEqual({ ok: true, versions: [1] })
      await expect(b.batch([{ op: 'set', key: 'k', value: 'b' }])).rejects.toThrow(/prepared statement .* already exists/)
      expect((await a.get('k'))?.value).toBe('a') // refused before it ran: nothing written
      await Promise.all([a.close?.(), b.close?.()])

      const [c, d] = pair('auto', 'auto')
      expect(await c.batch([{ op: 'set', key: 'k', value: 'c' }])).toEqual({ ok: true, versions: [1] })
      expect(await d.batch([{ op: 'set', key: 'k', value: 'd', ifVersion: 1 }])).toEqual({ ok: true, versions: [2] })
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? c : d).batch([{ op: 'set', key: `n/${i}`, value: String(i) }])),
      )
      expect(results.every((r) => r.ok)).toBe(true)
      expect((await c.get('k'))?.value).toBe('d')
      expect(await d.count?.('n/')).toBe(40)
      await Promise.all([c.close?.(), d.close?.()])
    } finally {
      await single.stop()
    }
  })
})
