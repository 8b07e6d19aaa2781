import assert from 'node:assert/strict'
import type { ConformanceRunner, ConformanceTest } from './conformance-context.js'
import { clock, expectConflict, expectOk, put, setOp, view } from './conformance-context.js'

/** Basic key-value, versions, conditional writes, batch atomicity and in-batch ordering. */
export const basicGroups = (describe: ConformanceRunner['describe'], test: ConformanceTest) => {
  describe('basic key-value', () => {
    test('declares a name, its capabilities and the three required methods', async ({ open }) => {
      const s = await open()
      assert.equal(typeof s.name, 'string')
      assert.ok(s.name.length > 0, 'name is not empty')
      for (const c of ['multiProcess', 'atomicBatch', 'pubsub'] as const) {
        assert.equal(typeof s.capabilities[c], 'boolean', `capabilities.${c} is a boolean`)
      }
      for (const m of ['get', 'list', 'batch'] as const) assert.equal(typeof s[m], 'function', `${m} is a function`)
      if (s.now) {
        const a = await s.now()
        const b = await s.now()
        assert.ok(Number.isFinite(a) && Math.abs(a - Date.now()) < 60_000, `now() is Unix ms, got ${a}`)
        assert.ok(b >= a, 'now() does not go backwards')
      }
    })

    test('a missing key is undefined and a fresh store lists nothing', async ({ open }) => {
      const s = await open()
      assert.equal(await s.get('missing'), undefined)
      assert.deepEqual(await s.list(''), [])
    })

    test('a set is read back with version 1 and no expiry', async ({ open }) => {
      const s = await open()
      assert.deepEqual(await s.batch([setOp('k', 'v')]), { ok: true, versions: [1] })
      assert.deepEqual(view(await s.get('k')), { value: 'v', version: 1, expiresAt: undefined })
    })

    test('batch returns the new version per set and 0 per delete and check', async ({ open }) => {
      const s = await open()
      await put(s, 'b', 'x')
      const result = await s.batch([setOp('a', '1'), setOp('b', '2'), { op: 'delete', key: 'c' }, { op: 'check', key: 'b', ifVersion: 2 }])
      assert.deepEqual(result, { ok: true, versions: [1, 2, 0, 0] })
    })

    test('an empty batch succeeds and changes nothing', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'v')
      assert.deepEqual(await s.batch([]), { ok: true, versions: [] })
      assert.deepEqual(view(await s.get('k')), { value: 'v', version: 1, expiresAt: undefined })
    })

    test('delete removes a key; deleting an absent key succeeds', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'v')
      assert.deepEqual(await s.batch([{ op: 'delete', key: 'k' }]), { ok: true, versions: [0] })
      assert.equal(await s.get('k'), undefined)
      assert.deepEqual(await s.batch([{ op: 'delete', key: 'k' }]), { ok: true, versions: [0] })
      assert.deepEqual(await s.list(''), [])
    })

    test('several keys written in one batch are all stored', async ({ open }) => {
      const s = await open()
      expectOk(await s.batch(['x', 'y', 'z'].map((k) => setOp(k, `v-${k}`))))
      for (const k of ['x', 'y', 'z']) assert.equal((await s.get(k))?.value, `v-${k}`)
    })

    test('expiresAt is stored and returned as given', async ({ open }) => {
      const s = await open()
      const expiresAt = Math.floor(await clock(s)) + 3_600_000
      await put(s, 'k', 'v', { expiresAt })
      assert.deepEqual(view(await s.get('k')), { value: 'v', version: 1, expiresAt })
      await put(s, 'k', 'w')
      assert.deepEqual(view(await s.get('k')), { value: 'w', version: 2, expiresAt: undefined }, 'a set without expiresAt clears it')
    })

    test('changing a returned entry does not change the store', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'v')
      const entry = await s.get('k')
      assert.ok(entry)
      entry.value = 'changed'
      entry.version = 99
      const [listed] = await s.list('')
      assert.ok(listed)
      listed.value = 'changed'
      assert.deepEqual(view(await s.get('k')), { value: 'v', version: 1, expiresAt: undefined })
    })
  })

  describe('versions', () => {
    test('1 on create, +1 per write, 1 again after a delete', async ({ open }) => {
      const s = await open()
      assert.equal(await put(s, 'k', 'a'), 1)
      assert.equal(await put(s, 'k', 'b'), 2)
      assert.equal(await put(s, 'k', 'c'), 3)
      assert.equal((await s.get('k'))?.version, 3)
      expectOk(await s.batch([{ op: 'delete', key: 'k' }]))
      assert.equal(await put(s, 'k', 'd'), 1)
      assert.equal((await s.get('k'))?.version, 1)
    })

    test('versions are counted per key', async ({ open }) => {
      const s = await open()
      await put(s, 'a', '1')
      await put(s, 'a', '2')
      assert.equal(await put(s, 'b', '1'), 1)
      assert.deepEqual(expectOk(await s.batch([setOp('a', '3'), setOp('b', '2'), setOp('c', '1')])), [3, 2, 1])
    })

    test('listed entries carry the same versions as get', async ({ open }) => {
      const s = await open()
      await put(s, 'a', '1')
      await put(s, 'a', '2')
      await put(s, 'b', '1')
      const listed = await s.list('')
      assert.deepEqual(
        listed.map((e) => [e.key, e.version]),
        [
          ['a', 2],
          ['b', 1],
        ],
      )
    })
  })

  describe('conditional writes', () => {
    test('ifVersion 0 creates only when the key is absent', async ({ open }) => {
      const s = await open()
      assert.deepEqual(await s.batch([setOp('k', 'first', { ifVersion: 0 })]), { ok: true, versions: [1] })
      expectConflict(await s.batch([setOp('k', 'second', { ifVersion: 0 })]), 'k', 1)
      assert.equal((await s.get('k'))?.value, 'first')
    })

    test('ifVersion n writes only when the version is n', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'a')
      await put(s, 'k', 'b')
      expectConflict(await s.batch([setOp('k', 'stale', { ifVersion: 1 })]), 'k', 2)
      expectConflict(await s.batch([setOp('k', 'future', { ifVersion: 3 })]), 'k', 2)
      assert.deepEqual(view(await s.get('k')), { value: 'b', version: 2, expiresAt: undefined })
      assert.deepEqual(await s.batch([setOp('k', 'c', { ifVersion: 2 })]), { ok: true, versions: [3] })
    })

    test('a conditional delete', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'a')
      expectConflict(await s.batch([{ op: 'delete', key: 'k', ifVersion: 2 }]), 'k', 1)
      assert.equal((await s.get('k'))?.value, 'a')
      expectOk(await s.batch([{ op: 'delete', key: 'k', ifVersion: 1 }]))
      assert.equal(await s.get('k'), undefined)
      expectConflict(await s.batch([{ op: 'delete', key: 'k', ifVersion: 1 }]), 'k', 0)
      expectOk(await s.batch([{ op: 'delete', key: 'k', ifVersion: 0 }]))
    })

    test('a check asserts a version and writes nothing', async ({ open }) => {
      const s = await open()
      await put(s, 'k', 'a')
      assert.deepEqual(await s.batch([{ op: 'check', key: 'k', ifVersion: 1 }]), { ok: true, versions: [0] })
      assert.deepEqual(view(await s.get('k')), { value: 'a', version: 1, expiresAt: undefined })
      expectConflict(await s.batch([{ op: 'check', key: 'k', ifVersion: 0 }]), 'k', 1)
      expectOk(await s.batch([{ op: 'check', key: 'absent', ifVersion: 0 }]))
      expectConflict(await s.batch([{ op: 'check', key: 'absent', ifVersion: 1 }]), 'absent', 0)
      assert.equal(await s.get('absent'), undefined)
    })

    test('a conflict names the first key whose condition fails', async ({ open }) => {
      const s = await open()
      await put(s, 'a', '1')
      await put(s, 'b', '1')
      await put(s, 'b', '2')
      const ops = [
        { op: 'check', key: 'ok', ifVersion: 0 },
        { op: 'check', key: 'b', ifVersion: 7 },
        { op: 'check', key: 'a', ifVersion: 7 },
      ] as const
      expectConflict(await s.batch([...ops]), 'b', 2)
    })

    test('conditions see the earlier ops of the same batch', async ({ open }) => {
      const s = await open()
      const result = await s.batch([
        setOp('k', 'a', { ifVersion: 0 }),
        setOp('k', 'b', { ifVersion: 1 }),
        { op: 'check', key: 'k', ifVersion: 2 },
        { op: 'delete', key: 'k', ifVersion: 2 },
        { op: 'check', key: 'k', ifVersion: 0 },
        setOp('k', 'c', { ifVersion: 0 }),
      ])
      assert.deepEqual(result, { ok: true, versions: [1, 2, 0, 0, 0, 1] })
      assert.deepEqual(view(await s.get('k')), { value: 'c', version: 1, expiresAt: undefined })
    })
  })

  describe('batch atomicity', () => {
    test('a failing condition in op 5 leaves ops 1-4 unapplied', async ({ open }) => {
      const s = await open()
      await put(s, 'keep', 'old')
      await put(s, 'gate', 'g')
      const result = await s.batch([
        setOp('new-1', 'x'),
        setOp('keep', 'overwritten'),
        { op: 'delete', key: 'gate' },
        setOp('new-2', 'y', { ifVersion: 0 }),
        { op: 'check', key: 'lock', ifVersion: 3 },
        setOp('new-3', 'z'),
      ])
      expectConflict(result, 'lock', 0)
      assert.equal(await s.get('new-1'), undefined)
      assert.equal(await s.get('new-2'), undefined)
      assert.equal(await s.get('new-3'), undefined)
      assert.deepEqual(view(await s.get('keep')), { value: 'old', version: 1, expiresAt: undefined })
      assert.deepEqual(view(await s.get('gate')), { value: 'g', version: 1, expiresAt: undefined })
      assert.deepEqual(
        (await s.list('')).map((e) => e.key),
        ['gate', 'keep'],
      )
    })

    test('a refused batch applies fully once its condition holds', async ({ open }) => {
      const s = await open()
      const ops = [setOp('a', '1'), setOp('b', '1'), { op: 'check', key: 'lock', ifVersion: 1 } as const]
      expectConflict(await s.batch(ops), 'lock', 0)
      await put(s, 'lock', 'l')
      assert.deepEqual(await s.batch(ops), { ok: true, versions: [1, 1, 0] })
      assert.equal((await s.get('b'))?.value, '1')
    })
  })

  describe('ops on the same key apply in order', () => {
    test('each set of a key counts a version and the last one wins', async ({ open }) => {
      const s = await open()
      assert.deepEqual(await s.batch([setOp('k', 'a'), setOp('k', 'b'), setOp('k', 'c')]), { ok: true, versions: [1, 2, 3] })
      assert.deepEqual(view(await s.get('k')), { value: 'c', version: 3, expiresAt: undefined })
    })

    test('set then delete leaves the key absent; delete then set leaves it at version 1', async ({ open }) => {
      const s = await open()
      await put(s, 'a', 'old')
      await put(s, 'b', 'old')
      expectOk(await s.batch([setOp('a', 'new'), { op: 'delete', key: 'a' }, { op: 'delete', key: 'b' }, setOp('b', 'new')]))
      assert.equal(await s.get('a'), undefined)
      assert.deepEqual(view(await s.get('b')), { value: 'new', version: 1, expiresAt: undefined })
    })

    test('a later set without expiresAt drops the expiry of an earlier one', async ({ open }) => {
      const s = await open()
      const expiresAt = Math.floor(await clock(s)) + 3_600_000
      expectOk(await s.batch([setOp('k', 'a', { expiresAt }), setOp('k', 'b')]))
      assert.deepEqual(view(await s.get('k')), { value: 'b', version: 2, expiresAt: undefined })
    })
  })
}
