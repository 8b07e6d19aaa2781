import assert from 'node:assert/strict'
import type { Datastore } from '../datastore/types.js'
import type { ConformanceRunner, ConformanceTest } from './conformance-context.js'
import { clock, expectConflict, expectOk, increment, put, setOp, sleep, waitFor } from './conformance-context.js'

/** Lease record kept in the value: who holds it and until when (Unix ms). Expiry is in the value, not a TTL, so the version keeps counting and fences. */
interface Lease {
  owner: string
  until: number
}

/** Claims (or renews) the lease under `key` for `ms`; resolves to the fencing version, or `undefined` when someone else holds it. */
const claim = async (s: Datastore, key: string, owner: string, ms: number): Promise<number | undefined> => {
  const now = await clock(s)
  const entry = await s.get(key)
  if (entry) {
    const lease = JSON.parse(entry.value) as Lease
    if (lease.owner !== owner && lease.until > now) return undefined
  }
  const value = JSON.stringify({ owner, until: now + ms } satisfies Lease)
  const result = await s.batch([setOp(key, value, { ifVersion: entry?.version ?? 0 })])
  return result.ok ? result.versions[0] : undefined
}

/** Spreads `n` calls over the given stores, round robin. */
const spread = <T>(stores: Datastore[], n: number, fn: (s: Datastore, i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => fn(stores[i % stores.length] as Datastore, i)))

const raceTests = (test: ConformanceTest, connections: (ctx: Parameters<Parameters<ConformanceTest>[1]>[0]) => Promise<Datastore[]>) => {
  test('N concurrent creates of one key: exactly one wins', async (ctx) => {
    const stores = await connections(ctx)
    const results = await spread(stores, 20, (s, i) => s.batch([setOp('k', `w${i}`, { ifVersion: 0 })]))
    const winners = results.flatMap((r, i) => (r.ok ? [i] : []))
    assert.equal(winners.length, 1, `exactly one winner, got ${winners.length}`)
    for (const r of results) if (!r.ok) assert.deepEqual(r, { ok: false, conflictKey: 'k', actualVersion: 1 })
    assert.equal((await stores[0]?.get('k'))?.value, `w${winners[0]}`)
  })

  test('rounds of concurrent compare-and-set: one winner per version', async (ctx) => {
    const stores = await connections(ctx)
    const s = stores[0] as Datastore
    await put(s, 'k', 'start')
    for (let version = 1; version <= 5; version++) {
      const results = await spread(stores, 10, (c, i) => c.batch([setOp('k', `v${version}-${i}`, { ifVersion: version })]))
      const ok = results.filter((r) => r.ok)
      assert.equal(ok.length, 1, `version ${version}: exactly one winner`)
      assert.deepEqual(ok[0], { ok: true, versions: [version + 1] })
    }
    assert.equal((await s.get('k'))?.version, 6)
  })

  test('50 concurrent increments through get + batch retries end at exactly 50', async (ctx) => {
    const stores = await connections(ctx)
    await spread(stores, 50, (s) => increment(s, 'counter'))
    const entry = await stores[0]?.get('counter')
    assert.equal(entry?.value, '50')
    assert.equal(entry?.version, 50)
  })

  test('concurrent two-key transfers never tear', async (ctx) => {
    const stores = await connections(ctx)
    const s = stores[0] as Datastore
    expectOk(await s.batch([setOp('acct/a', '100'), setOp('acct/b', '0')]))
    const transfer = async (c: Datastore) => {
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const [a, b] = await Promise.all([c.get('acct/a'), c.get('acct/b')])
        assert.ok(a && b)
        // Two gets are not a snapshot: a torn read is possible, and the versions make its batch fail.
        const result = await c.batch([
          setOp('acct/a', String(Number(a.value) - 1), { ifVersion: a.version }),
          setOp('acct/b', String(Number(b.value) + 1), { ifVersion: b.version }),
        ])
        if (result.ok) return
      }
      assert.fail('transfer never won')
    }
    await spread(stores, 30, transfer)
    assert.equal((await s.get('acct/a'))?.value, '70')
    assert.equal((await s.get('acct/b'))?.value, '30')
    assert.equal((await s.get('acct/a'))?.version, 31)
  })

  test('a live lease refuses a second claimer; after expiry it moves and the first owner is fenced', async (ctx) => {
    const [s1, s2 = s1] = (await connections(ctx)) as [Datastore, Datastore?]
    assert.equal(await claim(s1, 'lease/run-1', 'A', 60_000), 1)
    assert.equal(await claim(s2, 'lease/run-1', 'B', 60_000), undefined, 'B cannot claim a live lease')
    const fenceA = await claim(s1, 'lease/run-1', 'A', 100) // A renews for a short while, then stops renewing
    assert.equal(fenceA, 2)
    await sleep(160)
    const fenceB = await claim(s2, 'lease/run-1', 'B', 60_000)
    assert.equal(fenceB, 3, 'B takes the expired lease over')
    const stale = await s1.batch([{ op: 'check', key: 'lease/run-1', ifVersion: fenceA as number }, setOp('run-1/step-1', 'from A')])
    expectConflict(stale, 'lease/run-1', 3)
    assert.equal(await s1.get('run-1/step-1'), undefined, "the fenced owner's write is not applied")
    expectOk(await s2.batch([{ op: 'check', key: 'lease/run-1', ifVersion: fenceB as number }, setOp('run-1/step-1', 'from B')]))
    assert.equal((await s1.get('run-1/step-1'))?.value, 'from B')
    assert.equal(await claim(s1, 'lease/run-1', 'A', 100), undefined, 'A cannot take it back while B holds it')
  })

  test('concurrent claimers of a free lease: exactly one owner', async (ctx) => {
    const stores = await connections(ctx)
    const fences = await spread(stores, 10, (s, i) => claim(s, 'lease/x', `owner-${i}`, 10_000))
    const winners = fences.flatMap((f, i) => (f === undefined ? [] : [i]))
    assert.equal(winners.length, 1)
    const lease = JSON.parse((await stores[0]?.get('lease/x'))?.value ?? '{}') as Lease
    assert.equal(lease.owner, `owner-${winners[0]}`)
  })

  test('renewing a lease bumps the fence and refuses the old one', async (ctx) => {
    const [s] = await connections(ctx)
    assert.ok(s)
    assert.equal(await claim(s, 'lease/r', 'A', 10_000), 1)
    assert.equal(await claim(s, 'lease/r', 'A', 10_000), 2)
    expectConflict(await s.batch([{ op: 'check', key: 'lease/r', ifVersion: 1 }, setOp('out', 'x')]), 'lease/r', 2)
    assert.equal(await s.get('out'), undefined)
  })
}

/** Compare-and-set races, counters, leases and fencing: in one connection and, with `reopen`, across two. */
export const raceGroups = (describe: ConformanceRunner['describe'], test: ConformanceTest, crossConnection: boolean) => {
  describe('compare-and-set races and leases (one connection)', () => {
    raceTests(test, async ({ open }) => [await open()])
  })
  if (crossConnection) {
    describe('compare-and-set races and leases (two connections, as two processes)', () => {
      raceTests(test, async ({ open, reopen }) => {
        const s = await open()
        return [s, await reopen(s)]
      })
      test('a write through one connection is seen at once by the other', async ({ open, reopen }) => {
        const s1 = await open()
        const s2 = await reopen(s1)
        await put(s1, 'seen', 'v')
        assert.equal((await s2.get('seen'))?.value, 'v')
        assert.deepEqual(
          (await s2.list('')).map((e) => e.key),
          ['seen'],
        )
        assert.equal(await put(s2, 'seen', 'w'), 2)
        assert.equal((await s1.get('seen'))?.version, 2)
      })
    })
  }

  describe('pub/sub', () => {
    test('publish reaches subscribers of the channel; unsubscribe stops delivery', async ({ open, reopen, options }) => {
      const s = await open()
      if (!s.capabilities.pubsub) {
        assert.equal(typeof s.publish, typeof s.subscribe, 'publish and subscribe come as a pair')
        return
      }
      assert.ok(s.publish && s.subscribe, 'capability pubsub needs publish and subscribe')
      const got: string[] = []
      const other: string[] = []
      const off = await s.subscribe('ch', (m) => got.push(m))
      const offOther = await s.subscribe('ch-other', (m) => other.push(m))
      await s.publish('ch', 'hello')
      await waitFor(() => got.length === 1, 'the first message')
      const publisher = options.reopen ? await reopen(s) : s
      await publisher.publish?.('ch', 'from another connection ✓')
      await waitFor(() => got.length === 2, 'the second message')
      assert.deepEqual(got, ['hello', 'from another connection ✓'])
      await off()
      await s.publish('ch', 'after unsubscribe')
      await s.publish('ch-other', 'marker')
      await waitFor(() => other.length === 1, 'the marker on the other channel')
      assert.deepEqual(got, ['hello', 'from another connection ✓'], 'nothing after unsubscribe')
      await offOther()
    })
  })
}
