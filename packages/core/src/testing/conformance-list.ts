import assert from 'node:assert/strict'
import type { Datastore } from '../datastore/types.js'
import type { ConformanceRunner, ConformanceTest } from './conformance-context.js'
import { clock, during, expectConflict, expectOk, getMany, keysOf, put, setOp, sleep, view } from './conformance-context.js'

/** Keys in ascending UTF-16 order (all ASCII, so byte order agrees). */
const KEYS = ['a', 'b', 'b/1', 'b/10', 'b/2', 'b/3', 'b0', 'ba', 'c', 'c/x']

const seed = async (s: Datastore) => {
  expectOk(await s.batch(KEYS.map((k) => setOp(k, `v:${k}`))))
  await put(s, 'b/2', 'v:b/2 again')
}

/** Ordered listing, and TTL (expired = absent everywhere). */
export const listGroups = (describe: ConformanceRunner['describe'], test: ConformanceTest, skipTtl: boolean) => {
  describe('ordered listing', () => {
    test('lists the keys with a prefix in ascending order, with values and versions', async ({ open }) => {
      const s = await open()
      await seed(s)
      assert.deepEqual(
        (await s.list('b/')).map((e) => ({ key: e.key, value: e.value, version: e.version })),
        [
          { key: 'b/1', value: 'v:b/1', version: 1 },
          { key: 'b/10', value: 'v:b/10', version: 1 },
          { key: 'b/2', value: 'v:b/2 again', version: 2 },
          { key: 'b/3', value: 'v:b/3', version: 1 },
        ],
      )
    })

    test('the empty prefix lists everything; a key equal to the prefix is included', async ({ open }) => {
      const s = await open()
      await seed(s)
      assert.deepEqual(keysOf(await s.list('')), KEYS)
      assert.deepEqual(keysOf(await s.list('b')), ['b', 'b/1', 'b/10', 'b/2', 'b/3', 'b0', 'ba'])
      assert.deepEqual(keysOf(await s.list('c/x')), ['c/x'])
      assert.deepEqual(await s.list('zz'), [])
      assert.deepEqual(await s.list('b/1/'), [])
    })

    test('after and before are exclusive bounds on whole keys', async ({ open }) => {
      const s = await open()
      await seed(s)
      assert.deepEqual(keysOf(await s.list('b/', { after: 'b/10' })), ['b/2', 'b/3'])
      assert.deepEqual(keysOf(await s.list('b/', { after: 'b/15' })), ['b/2', 'b/3'])
      assert.deepEqual(keysOf(await s.list('b/', { before: 'b/2' })), ['b/1', 'b/10'])
      assert.deepEqual(keysOf(await s.list('b/', { after: 'b/1', before: 'b/3' })), ['b/10', 'b/2'])
      assert.deepEqual(keysOf(await s.list('', { after: 'b', before: 'c' })), ['b/1', 'b/10', 'b/2', 'b/3', 'b0', 'ba'])
      assert.deepEqual(keysOf(await s.list('b/', { after: 'a' })), ['b/1', 'b/10', 'b/2', 'b/3'], 'after below the prefix')
      assert.deepEqual(keysOf(await s.list('b/', { before: 'c' })), ['b/1', 'b/10', 'b/2', 'b/3'], 'before above the prefix')
      assert.deepEqual(await s.list('b/', { after: 'c' }), [])
      assert.deepEqual(await s.list('b/', { before: 'a' }), [])
      assert.deepEqual(await s.list('b/', { after: 'b/2', before: 'b/2' }), [])
    })

    test('limit caps the count; 0 lists nothing', async ({ open }) => {
      const s = await open()
      await seed(s)
      assert.deepEqual(keysOf(await s.list('b/', { limit: 2 })), ['b/1', 'b/10'])
      assert.deepEqual(keysOf(await s.list('b/', { limit: 100 })), ['b/1', 'b/10', 'b/2', 'b/3'])
      assert.deepEqual(await s.list('b/', { limit: 0 }), [])
      assert.deepEqual(keysOf(await s.list('', { after: 'b/3', limit: 3 })), ['b0', 'ba', 'c'])
    })

    test('reverse lists in descending order, with limit and bounds', async ({ open }) => {
      const s = await open()
      await seed(s)
      assert.deepEqual(keysOf(await s.list('b/', { reverse: true })), ['b/3', 'b/2', 'b/10', 'b/1'])
      assert.deepEqual(keysOf(await s.list('b/', { reverse: true, limit: 2 })), ['b/3', 'b/2'])
      assert.deepEqual(keysOf(await s.list('b/', { reverse: true, before: 'b/3' })), ['b/2', 'b/10', 'b/1'])
      assert.deepEqual(keysOf(await s.list('b/', { reverse: true, after: 'b/1', limit: 1 })), ['b/3'])
      assert.deepEqual(keysOf(await s.list('', { reverse: true, limit: 3 })), ['c/x', 'c', 'ba'])
      assert.deepEqual(keysOf(await s.list('b', { reverse: true, limit: 2 })), ['ba', 'b0'])
    })

    test('paging forward with after visits every key once, in order', async ({ open }) => {
      const s = await open()
      await seed(s)
      const seen: string[] = []
      let after: string | undefined
      for (let page = 0; page < 20; page++) {
        const entries = await s.list('', { limit: 3, ...(after === undefined ? {} : { after }) })
        seen.push(...keysOf(entries))
        if (entries.length < 3) break
        after = entries[entries.length - 1]?.key
      }
      assert.deepEqual(seen, KEYS)
    })

    test('paging backward with before visits every key once, in reverse order', async ({ open }) => {
      const s = await open()
      await seed(s)
      const seen: string[] = []
      let before: string | undefined
      for (let page = 0; page < 20; page++) {
        const entries = await s.list('b', { limit: 2, reverse: true, ...(before === undefined ? {} : { before }) })
        seen.push(...keysOf(entries))
        if (entries.length < 2) break
        before = entries[entries.length - 1]?.key
      }
      assert.deepEqual(seen, ['ba', 'b0', 'b/3', 'b/2', 'b/10', 'b/1', 'b'])
    })

    test('listing follows deletes and new keys', async ({ open }) => {
      const s = await open()
      await seed(s)
      expectOk(await s.batch([{ op: 'delete', key: 'b/10' }, { op: 'delete', key: 'b/3' }, setOp('b/25', 'new')]))
      assert.deepEqual(keysOf(await s.list('b/')), ['b/1', 'b/2', 'b/25'])
      assert.deepEqual(keysOf(await s.list('b/', { limit: 2 })), ['b/1', 'b/2'])
    })

    test('prefixes ending in high BMP characters have an exact upper edge', async ({ open }) => {
      const s = await open()
      const keys = ['p', 'p\u00ff', 'p\u00ffa', 'p\u07ff', 'p\u0800', 'p\uffff', 'p\uffff\uffff', 'p\uffffz', 'q', 'pz']
      expectOk(await s.batch(keys.map((k) => setOp(k, k))))
      assert.deepEqual(keysOf(await s.list('p\uffff')), ['p\uffff', 'p\uffffz', 'p\uffff\uffff'])
      assert.deepEqual(keysOf(await s.list('p\u00ff')), ['p\u00ff', 'p\u00ffa'])
      assert.deepEqual(keysOf(await s.list('p\u07ff')), ['p\u07ff'])
      assert.deepEqual(keysOf(await s.list('p')), [
        'p',
        'pz',
        'p\u00ff',
        'p\u00ffa',
        'p\u07ff',
        'p\u0800',
        'p\uffff',
        'p\uffffz',
        'p\uffff\uffff',
      ])
    })
  })

  describe('count (when the adapter has one)', () => {
    test('counts what list lists, within the same exclusive bounds; limit and reverse do not apply', async ({ open }) => {
      const s = await open()
      if (!s.count) return
      await seed(s)
      for (const prefix of ['', 'b', 'b/', 'c/x', 'zz', 'b/1/'])
        assert.equal(await s.count(prefix), (await s.list(prefix)).length, `count("${prefix}")`)
      assert.equal(await s.count('b/', { after: 'b/1' }), 3)
      assert.equal(await s.count('b/', { before: 'b/2' }), 2)
      assert.equal(await s.count('b/', { after: 'b/1', before: 'b/3' }), 2)
      assert.equal(await s.count('b/', { after: 'b/3', before: 'b/1' }), 0)
      assert.equal(await s.count('b/', { after: 'a' }), 4, 'an after below the prefix is no bound')
      const withExtras = { limit: 1, reverse: true } as { after?: string }
      assert.equal(await s.count('b/', withExtras), 4)
    })

    test('does not count deleted or expired entries, and counts past a thousand exactly', async ({ open }) => {
      const s = await open()
      if (!s.count) return
      const now = await clock(s)
      const keys = Array.from({ length: 1_203 }, (_, i) => `n/${String(i).padStart(5, '0')}`)
      for (let i = 0; i < keys.length; i += 200) expectOk(await s.batch(keys.slice(i, i + 200).map((k) => setOp(k, 'v'))))
      expectOk(await s.batch([{ op: 'delete', key: 'n/00003' }]))
      if (!skipTtl) {
        await put(s, 'n/zz-expiring', 'v', { expiresAt: now + 80 })
        await sleep(Math.max(0, now + 160 - (await clock(s))))
      }
      assert.equal(await s.count('n/'), 1_202)
      assert.equal(await s.count('n/'), (await s.list('n/')).length)
    })
  })

  if (skipTtl) return
  describe('TTL: an expired entry is absent everywhere', () => {
    test('expired entries vanish from get, list, getMany and conditions', async ({ open }) => {
      const s = await open()
      await s.get('warm-up') // connect first, so the expiry below is not spent opening the store
      const now = await clock(s)
      expectOk(
        await s.batch([
          setOp('t/short', 's', { expiresAt: now + 150 }),
          setOp('t/forever', 'f'),
          setOp('t/long', 'l', { expiresAt: now + 3_600_000 }),
          setOp('t/past', 'p', { expiresAt: now - 1_000 }),
        ]),
      )
      assert.equal(await s.get('t/past'), undefined, 'an entry written already expired is absent')
      const early = await during(s, now + 150, async () => [(await s.get('t/short'))?.value, keysOf(await s.list('t/'))] as const)
      if (early.live) assert.deepEqual(early.result, ['s', ['t/forever', 't/long', 't/short']])
      if (early.gone) assert.deepEqual(early.result, [undefined, ['t/forever', 't/long']])
      await sleep(200)
      assert.equal(await s.get('t/short'), undefined)
      assert.deepEqual(keysOf(await s.list('t/')), ['t/forever', 't/long'])
      assert.deepEqual(keysOf(await s.list('t/', { reverse: true, limit: 1, after: 't/long' })), [])
      assert.deepEqual(
        (await getMany(s, ['t/short', 't/forever', 't/past'])).map((e) => e?.value),
        [undefined, 'f', undefined],
      )
      expectConflict(await s.batch([setOp('t/short', 'x', { ifVersion: 1 })]), 't/short', 0)
      expectOk(await s.batch([{ op: 'check', key: 't/short', ifVersion: 0 }]))
      assert.deepEqual(await s.batch([setOp('t/short', 'again', { ifVersion: 0 })]), { ok: true, versions: [1] }, 'version restarts at 1')
      assert.deepEqual(view(await s.get('t/short')), { value: 'again', version: 1, expiresAt: undefined })
    })

    test('rewriting an expiring key can drop or extend its expiry', async ({ open }) => {
      const s = await open()
      await s.get('warm-up')
      const now = await clock(s)
      await put(s, 'drop', 'a', { expiresAt: now + 1_000 })
      await put(s, 'drop', 'b')
      await put(s, 'extend', 'a', { expiresAt: now + 1_000 })
      await put(s, 'extend', 'b', { expiresAt: now + 3_600_000 })
      await put(s, 'shorten', 'a', { expiresAt: now + 3_600_000 })
      await put(s, 'shorten', 'b', { expiresAt: now + 1_000 })
      // A generous expiry, so a slow store (or a loaded machine) never sees the first write expire early.
      await sleep(Math.max(0, now + 1_100 - (await clock(s))))
      assert.deepEqual(view(await s.get('drop')), { value: 'b', version: 2, expiresAt: undefined })
      assert.deepEqual(view(await s.get('extend')), { value: 'b', version: 2, expiresAt: now + 3_600_000 })
      assert.equal(await s.get('shorten'), undefined)
      assert.deepEqual(keysOf(await s.list('')), ['drop', 'extend'])
    })

    test('a delete of an expired key succeeds with ifVersion 0', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'v', { expiresAt: (await clock(s)) + 80 })
      await sleep(160)
      expectConflict(await s.batch([{ op: 'delete', key: 'k', ifVersion: 1 }]), 'k', 0)
      expectOk(await s.batch([{ op: 'delete', key: 'k', ifVersion: 0 }]))
      assert.equal(await s.get('k'), undefined)
    })
  })
}
