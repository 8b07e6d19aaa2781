// Batches as the PostgreSQL store sends them (one statement per event-loop turn, each batch still
// all-or-nothing), migrations run by several stores at once, a pool the user owns, and option checks.
import { DoSdkError, InvalidArgumentError, StoreError } from '@do-sdk/core'
import { postgresStore } from '@do-sdk/store-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresServer, startPostgresForTests } from './postgres-server.js'

const server = await startPostgresForTests()
afterAll(() => server?.stop())
let seq = 0
const ns = () => `t${++seq}`

/** A pool whose calls of the batch function are counted. */
const countingPool = (s: PostgresServer, config: pg.PoolConfig = {}) => {
  const pool = new pg.Pool({ connectionString: s.connectionString, max: 4, ...config })
  pool.on('error', () => {})
  const calls = { batch: 0, all: 0 }
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>
  ;(pool as { query: unknown }).query = (...args: unknown[]) => {
    calls.all++
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text
    if (text?.includes('do_batch_v2')) calls.batch++
    return query(...args)
  }
  return { pool, calls }
}

describe.skipIf(!server)('postgresStore', () => {
  let s: PostgresServer
  beforeAll(() => {
    s = server as PostgresServer
  })

  describe('group commit', () => {
    it('batches of one turn share one statement, and a conflicting one writes nothing', async () => {
      const { pool, calls } = countingPool(s)
      const store = postgresStore({ pool }, { namespace: ns() })
      await store.batch([{ op: 'set', key: 'run', value: 'r' }])
      const before = calls.batch
      const results = await Promise.all([
        store.batch([{ op: 'set', key: 'a', value: '1' }]),
        store.batch([
          { op: 'set', key: 'b', value: '1' },
          { op: 'set', key: 'run', value: 'x', ifVersion: 7 },
        ]),
        store.batch([
          { op: 'set', key: 'c', value: '1' },
          { op: 'set', key: 'run', value: 'y', ifVersion: 1 },
        ]),
      ])
      expect(calls.batch - before).toBe(1)
      expect(results).toEqual([
        { ok: true, versions: [1] },
        { ok: false, conflictKey: 'run', actualVersion: 1 },
        { ok: true, versions: [1, 2] },
      ])
      expect((await store.list('')).map((e) => [e.key, e.value, e.version])).toEqual([
        ['a', '1', 1],
        ['c', '1', 1],
        ['run', 'y', 2],
      ])
      await store.close?.()
      await pool.end()
    })

    it('a later batch of the same turn sees the writes of an earlier one on the same key', async () => {
      const { pool, calls } = countingPool(s)
      const store = postgresStore({ pool }, { namespace: ns() })
      await store.get('warm-up')
      const before = calls.batch
      const results = await Promise.all([
        store.batch([{ op: 'set', key: 'k', value: 'first', ifVersion: 0 }]),
        store.batch([{ op: 'set', key: 'k', value: 'second', ifVersion: 0 }]),
        store.batch([
          { op: 'set', key: 'k', value: 'third', ifVersion: 1 },
          { op: 'set', key: 'other', value: 'o' },
        ]),
        store.batch([
          { op: 'delete', key: 'k', ifVersion: 2 },
          { op: 'set', key: 'k', value: 'fourth' },
        ]),
      ])
      expect(calls.batch - before).toBe(1)
      expect(results).toEqual([
        { ok: true, versions: [1] },
        { ok: false, conflictKey: 'k', actualVersion: 1 },
        { ok: true, versions: [2, 1] },
        { ok: true, versions: [0, 1] },
      ])
      expect(await store.get('k')).toEqual({ value: 'fourth', version: 1 })
      await store.close?.()
      await pool.end()
    })

    it('contradictory conditions fail without the server deciding, naming the first failing op', async () => {
      const store = postgresStore({ connectionString: s.connectionString }, { namespace: ns() })
      await store.batch([{ op: 'set', key: 'k', value: 'v' }])
      expect(
        await store.batch([
          { op: 'check', key: 'k', ifVersion: 1 },
          { op: 'set', key: 'k', value: 'w' },
          { op: 'check', key: 'k', ifVersion: 1 },
        ]),
      ).toEqual({ ok: false, conflictKey: 'k', actualVersion: 2 })
      expect(
        await store.batch([
          { op: 'check', key: 'k', ifVersion: 3 },
          { op: 'delete', key: 'k' },
        ]),
      ).toEqual({
        ok: false,
        conflictKey: 'k',
        actualVersion: 1,
      })
      expect(await store.get('k')).toEqual({ value: 'v', version: 1 })
      await store.close?.()
    })

    it('a batch failing with an SQL error rolls back alone; the others of its turn commit', async () => {
      const store = postgresStore({ connectionString: s.connectionString }, { namespace: ns() })
      await store.get('warm-up')
      // 1,024 CJK characters: 3,072 bytes of UTF-8 that do not compress, more than a B-tree entry can hold.
      const huge = Array.from({ length: 1024 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))).join('')
      const [first, failing, last] = await Promise.allSettled([
        store.batch([{ op: 'set', key: 'ok/1', value: '1' }]),
        store.batch([
          { op: 'set', key: 'bad/1', value: 'written first' },
          { op: 'set', key: huge, value: 'x' },
        ]),
        store.batch([{ op: 'set', key: 'ok/2', value: '2', ifVersion: 0 }]),
      ])
      expect(first).toEqual({ status: 'fulfilled', value: { ok: true, versions: [1] } })
      expect(last).toEqual({ status: 'fulfilled', value: { ok: true, versions: [1] } })
      expect(failing.status).toBe('rejected')
      const reason = (failing as PromiseRejectedResult).reason as StoreError
      expect(reason).toBeInstanceOf(StoreError)
      expect(reason.message).toMatch(/^\[do-sdk\] \[postgres\] batch of 2 ops on "bad\/1" and 1 more keys failed: index row/)
      expect((await store.list('')).map((e) => e.key)).toEqual(['ok/1', 'ok/2'])
      await store.close?.()
    })

    it('bad ops are refused alone, with an InvalidArgumentError', async () => {
      const store = postgresStore({ connectionString: s.connectionString }, { namespace: ns() })
      const [bad, good] = await Promise.allSettled([
        store.batch([{ op: 'set', key: 'k', value: {} as unknown as string }]),
        store.batch([{ op: 'set', key: 'k2', value: 'v' }]),
      ])
      expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(InvalidArgumentError)
      expect(good).toEqual({ status: 'fulfilled', value: { ok: true, versions: [1] } })
      await store.close?.()
    })
  })

  describe('migrations', () => {
    it('five stores starting at once on a fresh schema migrate it once', async () => {
      const stores = Array.from({ length: 5 }, (_, i) =>
        postgresStore({ connectionString: s.connectionString }, { schema: 'fresh_concurrent', namespace: `m${i}` }),
      )
      const results = await Promise.all(stores.map((store, i) => store.batch([{ op: 'set', key: 'k', value: String(i) }])))
      expect(results).toEqual(stores.map(() => ({ ok: true, versions: [1] })))
      const { rows } = await s.admin('SELECT version, name FROM fresh_concurrent.do_migrations ORDER BY version', 'app')
      expect(rows.map((r) => r.version)).toEqual([1, 2])
      expect(await stores[3]?.get('k')).toEqual({ value: '3', version: 1 })
      await Promise.all(stores.map((store) => store.close?.()))
      // Again, on a schema already migrated: nothing to apply, nothing recorded twice.
      const again = postgresStore({ connectionString: s.connectionString }, { schema: 'fresh_concurrent', namespace: 'm3' })
      expect(await again.get('k')).toEqual({ value: '3', version: 1 })
      await again.close?.()
      expect((await s.admin('SELECT count(*)::int AS n FROM fresh_concurrent.do_migrations', 'app')).rows[0]?.n).toBe(2)
    })

    it('migrate: false on a schema never set up fails with a StoreError naming the versions', async () => {
      const store = postgresStore({ connectionString: s.connectionString }, { schema: 'never_set_up', migrate: false })
      await expect(store.get('k')).rejects.toThrow(/Schema "never_set_up" is at version 0, this release needs 2/)
      await expect(store.get('k')).rejects.toBeInstanceOf(StoreError)
      await store.close?.()
    })

    it('a session in another isolation level is refused with a clear error', async () => {
      const pool = new pg.Pool({ connectionString: s.connectionString, options: '-c default_transaction_isolation=serializable' })
      const store = postgresStore({ pool }, { namespace: ns() })
      await expect(store.batch([{ op: 'set', key: 'k', value: 'v' }])).rejects.toThrow(/needs READ COMMITTED/)
      await store.close?.()
      await pool.end()
    })
  })

  describe('a pool the user owns', () => {
    it('is used and never ended by the store', async () => {
      const { pool, calls } = countingPool(s)
      const store = postgresStore({ pool }, { namespace: ns() })
      await store.batch([{ op: 'set', key: 'k', value: 'v' }])
      expect(calls.all).toBeGreaterThan(0)
      await store.close?.()
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      await expect(store.get('k')).rejects.toThrow(/\[do-sdk\] \[postgres\] The store is closed/)
      await pool.end()
    })

    it("keeps the pool's session settings: synchronous_commit off stays off on its connections", async () => {
      // datastores-postgres.md, "Latency": the store sets no synchronous_commit of its own.
      const pool = new pg.Pool({ connectionString: s.connectionString, max: 2, options: '-c synchronous_commit=off' })
      pool.on('error', () => {})
      const store = postgresStore({ pool }, { namespace: ns() })
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.batch([{ op: 'set', key: `k${i}`, value: 'v' }])))
      expect(results.every((r) => r.ok)).toBe(true)
      expect(await store.count?.('k')).toBe(10)
      const clients = await Promise.all([pool.connect(), pool.connect()])
      try {
        for (const c of clients) expect((await c.query('SHOW synchronous_commit')).rows).toEqual([{ synchronous_commit: 'off' }])
      } finally {
        for (const c of clients) c.release()
      }
      await store.close?.()
      await pool.end()
    })

    it('close() lets the batches it was given commit first, then refuses new ones', async () => {
      const store = postgresStore({ connectionString: s.connectionString }, { namespace: ns() })
      await store.get('warm-up')
      const pending = Array.from({ length: 20 }, (_, i) => store.batch([{ op: 'set', key: `k${i}`, value: 'v' }]))
      await store.close?.()
      expect(await Promise.all(pending)).toEqual(pending.map(() => ({ ok: true, versions: [1] })))
      await expect(store.batch([{ op: 'set', key: 'late', value: 'v' }])).rejects.toThrow(/The store is closed/)
      const again = postgresStore({ connectionString: s.connectionString }, { namespace: `t${seq}` })
      expect(await again.count?.('k')).toBe(20)
      await again.close?.()
    })

    it('a store opened on a connection string ends its own pool on close', async () => {
      const store = postgresStore({ connectionString: s.connectionString, poolSize: 2 }, { namespace: ns() })
      await store.batch([{ op: 'set', key: 'k', value: 'v' }])
      const count = async () =>
        Number(
          (await s.admin("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'")).rows[0]
            ?.n,
        )
      expect(await count()).toBeGreaterThan(0)
      await store.close?.()
      expect(await count()).toBe(0)
    })
  })

  describe('options', () => {
    const refused = (fn: () => unknown, pattern: RegExp) => {
      let error: unknown
      try {
        fn()
      } catch (e) {
        error = e
      }
      expect(DoSdkError.hasCode(error, 'ERR_INVALID_ARGUMENT'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(pattern)
    }
    it('are checked at once, each error naming its option', () => {
      const cs = { connectionString: 'postgres://x@127.0.0.1:1/x' }
      refused(() => postgresStore({} as never), /^\[do-sdk\] \[postgres\] Missing required option "connectionString" \(or "pool"\)\./)
      refused(() => postgresStore({ pool: {} } as never), /Option "pool" must be a pg\.Pool/)
      refused(() => postgresStore({ ...cs, poolSize: 0 }), /Option "poolSize" must be an integer >= 1, got 0/)
      refused(() => postgresStore(cs, { schema: '' }), /Option "schema" must be a PostgreSQL identifier/)
      refused(() => postgresStore(cs, { schema: 'x'.repeat(64) }), /Option "schema"/)
      refused(() => postgresStore(cs, { namespace: 'n'.repeat(257) }), /Option "namespace" must be a string of at most 256/)
      refused(() => postgresStore(cs, { sweepIntervalMs: -1 }), /Option "sweepIntervalMs" must be a number >= 0, got -1/)
      refused(() => postgresStore(cs, { sweepBatchSize: 1.5 }), /Option "sweepBatchSize" must be an integer/)
      refused(() => postgresStore(cs, { listenConnectionString: '' }), /Option "listenConnectionString"/)
      refused(
        () => postgresStore(cs, { preparedStatements: 'yes' as never }),
        /Option "preparedStatements" must be true, false or "auto", got "yes"/,
      )
    })

    it('an unreachable server is a StoreError naming what failed', async () => {
      const store = postgresStore({ connectionString: `postgres://app:${s.password}@127.0.0.1:1/app` })
      await expect(store.get('k')).rejects.toThrow(/^\[do-sdk\] \[postgres\] opening schema "public" failed: .*ECONNREFUSED/)
      await store.close?.()
    })
  })
})
