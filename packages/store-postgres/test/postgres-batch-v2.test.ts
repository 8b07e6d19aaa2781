// do_batch_v2 against do_batch_v1: the same random groups of batches, sent to both functions on two
// namespaces with the same contents, answer the same versions and leave the same rows; and on one
// table, a call of either waits for the other's locks (same lock ids, same order), so processes of
// two releases can share a database during a rolling deploy. v2 is v1 rewritten to cost less per
// call (schema.ts).
import type { WriteOp } from '@do-sdk/core'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { callParams, planCall } from '../src/batch-plan.js'
import { migrate } from '../src/migrate.js'
import { LOOP_SORT_KEYS, quoteIdent, statements } from '../src/schema.js'
import { startPostgresForTests } from './postgres-server.js'

const server = await startPostgresForTests()
afterAll(() => server?.stop())

/** A small seeded generator (mulberry32), so a failure names its seed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The store's call of the batch function, in `schema`, naming `fn` (do_batch_v1 or do_batch_v2). */
const callOf = (schema: string, fn: string) => statements(quoteIdent(schema)).batch.replace('do_batch_v2', fn)
/** The parameters of one call for `batches`, planned as the store plans a group. */
const paramsOf = (ns: string, batches: WriteOp[][]) =>
  callParams(
    ns,
    planCall(batches, (_, error) => {
      throw error
    }).rows,
  )

describe.skipIf(!server)('do_batch_v2 answers and writes as do_batch_v1', () => {
  it.each([
    ['few keys, several batches per call', 1, 6, 4],
    ['more keys than v2 sorts itself', 2, LOOP_SORT_KEYS + 9, 3],
    ['more keys than the namespace lock threshold (exclusive)', 3, 300, 2],
  ])('%s (seed %i)', async (_name, seed, keyCount, perCall) => {
    const pool = new pg.Pool({ connectionString: server?.connectionString, max: 2 })
    await migrate(pool, 'v2diff')
    const rnd = random(seed)
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)] as T
    const keys = Array.from({ length: keyCount }, (_, i) => `k/${i}`)
    const now = Date.now()
    const randomOp = (): WriteOp => {
      const key = pick(keys)
      const ifVersion = rnd() < 0.4 ? Math.floor(rnd() * 3) : undefined
      const kind = rnd()
      if (kind < 0.55) {
        const expiresAt = rnd() < 0.2 ? pick([now - 60_000, now + 3_600_000]) : undefined
        return {
          op: 'set',
          key,
          value: `v${Math.floor(rnd() * 1e6)}`,
          ...(ifVersion === undefined ? {} : { ifVersion }),
          ...(expiresAt ? { expiresAt } : {}),
        }
      }
      if (kind < 0.8) return { op: 'delete', key, ...(ifVersion === undefined ? {} : { ifVersion }) }
      return { op: 'check', key, ifVersion: ifVersion ?? 0 }
    }
    const call = async (fn: string, ns: string, batches: WriteOp[][]) =>
      String((await pool.query(callOf('v2diff', fn), paramsOf(ns, batches))).rows[0]?.v)
    const dump = async (ns: string) =>
      (await pool.query('SELECT key, value, version, expires_at FROM v2diff.do_entries WHERE ns = $1 ORDER BY key', [ns])).rows
    let applied = 0
    for (let round = 0; round < 60; round++) {
      const batches = Array.from({ length: 1 + Math.floor(rnd() * perCall) }, () =>
        Array.from({ length: 1 + Math.floor(rnd() * Math.min(keyCount, 12)) }, randomOp),
      )
      if (keyCount > 256 && round % 10 === 0) batches.push(keys.map((key) => ({ op: 'set', key, value: `all${round}` })))
      const a = await call('do_batch_v1', `a${seed}`, batches)
      const b = await call('do_batch_v2', `b${seed}`, batches)
      expect(b, `round ${round}`).toBe(a)
      expect(await dump(`b${seed}`), `round ${round}`).toEqual(await dump(`a${seed}`))
      applied += (await dump(`a${seed}`)).length > 0 ? 1 : 0
    }
    expect(applied).toBeGreaterThan(10) // the rounds wrote something to compare
    await pool.end()
  })
})

describe.skipIf(!server)('do_batch_v1 and do_batch_v2 on one table exclude each other', () => {
  it.each([
    ['v1', 'v2'],
    ['v2', 'v1'],
  ])('a %s call holding a key makes a %s call wait, which then sees its write', async (first, second) => {
    const pool = new pg.Pool({ connectionString: server?.connectionString, max: 4 })
    await migrate(pool, 'v2lock')
    const ns = `x${first}`
    const holder = await pool.connect()
    const waiter = await pool.connect()
    try {
      const waiterPid = Number((await waiter.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid)
      await holder.query('BEGIN')
      const held = await holder.query(
        callOf('v2lock', `do_batch_${first}`),
        paramsOf(ns, [[{ op: 'set', key: 'k', value: 'a', ifVersion: 0 }]]),
      )
      expect(held.rows[0]?.v).toBe('0')
      // The second release's call creates the same key only if it is still absent.
      const pending = waiter.query(
        callOf('v2lock', `do_batch_${second}`),
        paramsOf(ns, [[{ op: 'set', key: 'k', value: 'b', ifVersion: 0 }]]),
      )
      let settled = false
      void pending.finally(() => {
        settled = true
      })
      // It waits, on the holder's advisory lock (seen by the server, no timing window): not on the
      // row's unique index entry, which would mean it got past the locks (tested by breaking them).
      let waitingOn: unknown
      while (!settled && !waitingOn) {
        const { rows } = await pool.query("SELECT wait_event FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [
          waiterPid,
        ])
        waitingOn = rows[0]?.wait_event
        if (!waitingOn) await new Promise((r) => setTimeout(r, 5))
      }
      expect(settled, 'the second call did not wait for the lock of the first').toBe(false)
      expect(waitingOn).toBe('advisory')
      await holder.query('COMMIT')
      // It read the live version after the holder committed: 1, so its condition failed and it wrote nothing.
      expect((await pending).rows[0]?.v).toBe('1')
      const { rows } = await pool.query('SELECT value, version FROM v2lock.do_entries WHERE ns = $1 AND key = $2', [ns, 'k'])
      expect(rows).toEqual([{ value: 'a', version: '1' }])
    } finally {
      holder.release()
      waiter.release()
      await pool.end()
    }
  })
})
