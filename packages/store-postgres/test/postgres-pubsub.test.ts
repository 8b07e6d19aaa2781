// Pub/sub across stores (LISTEN/NOTIFY, reconnect), namespaces sharing one table, and the sweeper.
import { StoreError } from '@do-sdk/core'
import { postgresStore } from '@do-sdk/store-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresServer, startPostgresForTests } from './postgres-server.js'

const server = await startPostgresForTests()
afterAll(() => server?.stop())

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
/** Polls `check` every 10 ms until it holds; fails after `ms` saying what it waited for. */
const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

describe.skipIf(!server)('postgresStore', () => {
  let s: PostgresServer
  let admin: pg.Pool
  beforeAll(() => {
    s = server as PostgresServer
    admin = new pg.Pool({ connectionString: s.connectionString, max: 2 })
  })
  afterAll(() => admin?.end())
  const open = (namespace: string, extra = {}) => postgresStore({ connectionString: s.connectionString }, { namespace, ...extra })

  describe('pub/sub', () => {
    it('reaches every store of the namespace, in order, and no store of another namespace', async () => {
      const [a, b, other] = [open('ps'), open('ps'), open('ps-other')]
      const got: Record<string, string[]> = { a: [], b: [], other: [] }
      await a.subscribe?.('wake', (m) => got.a?.push(m))
      await b.subscribe?.('wake', (m) => got.b?.push(m))
      await other.subscribe?.('wake', (m) => got.other?.push(m))
      for (let i = 0; i < 20; i++) await (i % 2 ? a : b).publish?.('wake', `m${i} ✓ "quoted" \n`)
      await other.publish?.('wake', 'for the other namespace')
      const expected = Array.from({ length: 20 }, (_, i) => `m${i} ✓ "quoted" \n`)
      await until('20 messages in both stores', () => got.a?.length === 20 && got.b?.length === 20 && got.other?.length === 1)
      expect(got.a).toEqual(expected)
      expect(got.b).toEqual(expected)
      expect(got.other).toEqual(['for the other namespace'])
      await Promise.all([a, b, other].map((x) => x.close?.()))
    })

    it('a message too large for NOTIFY is refused with a StoreError', async () => {
      const a = open('ps-large')
      await expect(a.publish?.('wake', 'x'.repeat(8_000))).rejects.toThrow(/too large for NOTIFY/)
      await expect(a.publish?.('wake', 'x'.repeat(8_000))).rejects.toBeInstanceOf(StoreError)
      await a.close?.()
    })

    it('the LISTEN connection comes back after the server drops it', async () => {
      const a = open('ps-reconnect')
      const b = open('ps-reconnect')
      const got: string[] = []
      await a.subscribe?.('wake', (m) => got.push(m))
      await b.publish?.('wake', 'before')
      await until('the first message', () => got.includes('before'))
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND usename = 'app' AND pid <> pg_backend_pid()",
      )
      expect(killed.rowCount).toBe(1)
      // Messages sent while it reconnects are lost (the engine polls too): send until one arrives.
      let i = 0
      await until('a message after the reconnect', async () => {
        await b.publish?.('wake', `after ${++i}`)
        await sleep(20)
        return got.some((m) => m.startsWith('after'))
      })
      const listening = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND usename = 'app'")
      expect(listening.rows[0]?.n).toBe(1)
      await Promise.all([a.close?.(), b.close?.()])
    })

    it('LISTEN uses listenConnectionString when given (a pooler in transaction mode cannot LISTEN)', async () => {
      const pool = new pg.Pool({ connectionString: s.connectionString })
      const store = postgresStore(
        { pool },
        { namespace: 'ps-direct', listenConnectionString: `postgres://app:${s.password}@127.0.0.1:1/app` },
      )
      expect(await store.batch([{ op: 'set', key: 'k', value: 'v' }])).toEqual({ ok: true, versions: [1] })
      await expect(store.subscribe?.('wake', () => {})).rejects.toThrow(/subscribe to "wake" \(LISTEN connection\) failed: .*ECONNREFUSED/)
      await store.close?.()
      await pool.end()
    })
  })

  describe('namespaces in one table', () => {
    it('list, count, getMany and deletes stay inside their namespace', async () => {
      const x = open('ns-x')
      const y = open('ns-y')
      await x.batch(['a', 'b', 'c'].map((k) => ({ op: 'set', key: `k/${k}`, value: `x${k}` })))
      await y.batch(['b', 'd'].map((k) => ({ op: 'set', key: `k/${k}`, value: `y${k}` })))
      expect(await x.count?.('k/')).toBe(3)
      expect(await y.count?.('k/')).toBe(2)
      expect(await x.count?.('k/', { after: 'k/a', before: 'k/c' })).toBe(1)
      expect((await y.list('k/')).map((e) => e.value)).toEqual(['yb', 'yd'])
      expect((await x.getMany?.(['k/b', 'k/d']))?.map((e) => e?.value)).toEqual(['xb', undefined])
      await y.batch([{ op: 'delete', key: 'k/b' }])
      expect((await x.get('k/b'))?.value).toBe('xb')
      await Promise.all([x.close?.(), y.close?.()])
    })
  })

  describe('the sweeper', () => {
    const rows = async (ns: string) =>
      Number((await admin.query('SELECT count(*) AS n FROM public.do_entries WHERE ns = $1', [ns])).rows[0]?.n)

    it('deletes expired rows of its namespace in bounded rounds, and stops on close', async () => {
      const store = open('sweep-a', { sweepIntervalMs: 20, sweepBatchSize: 5 })
      const neighbour = open('sweep-b', { sweepIntervalMs: 0 })
      const now = (await store.now?.()) as number
      const expiring = Array.from({ length: 23 }, (_, i) => ({ op: 'set' as const, key: `e/${i}`, value: 'v', expiresAt: now + 100 }))
      await store.batch([
        ...expiring,
        { op: 'set', key: 'live', value: 'v' },
        { op: 'set', key: 'later', value: 'v', expiresAt: now + 3_600_000 },
      ])
      await neighbour.batch([{ op: 'set', key: 'gone-but-not-swept', value: 'v', expiresAt: now - 1 }])
      expect(await rows('sweep-a')).toBe(25)
      await until('the expired rows to be deleted', async () => (await rows('sweep-a')) === 2)
      expect((await store.list('')).map((e) => e.key)).toEqual(['later', 'live'])
      // The neighbour's expired row is absent for it, but only its own sweeper (off here) deletes it.
      expect(await neighbour.get('gone-but-not-swept')).toBeUndefined()
      expect(await rows('sweep-b')).toBe(1)
      await store.close?.()
      await neighbour.close?.()
    })

    it('close() clears the timer: no sweep runs on a closed store', async () => {
      const pool = new pg.Pool({ connectionString: s.connectionString, max: 2 })
      const store = postgresStore({ pool }, { namespace: 'sweep-c', sweepIntervalMs: 10 })
      const texts: string[] = []
      const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>
      ;(pool as { query: unknown }).query = (...args: unknown[]) => {
        texts.push(String((args[0] as { text?: string })?.text ?? args[0]))
        return query(...args)
      }
      await store.batch([{ op: 'set', key: 'k', value: 'v' }])
      await until('a sweep', () => texts.some((t) => t.startsWith('DELETE')))
      await store.close?.()
      const after = texts.length
      await sleep(100) // ten intervals: any live timer would have swept again
      expect(texts.length).toBe(after)
      await pool.end()
    })
  })
})
