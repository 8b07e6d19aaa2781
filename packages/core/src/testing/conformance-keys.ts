import assert from 'node:assert/strict'
import type { Datastore } from '../datastore/types.js'
import { DoSdkError } from '../errors.js'
import type { ConformanceContext, ConformanceRunner, ConformanceTest, DatastoreConformanceOptions } from './conformance-context.js'
import { expectOk, getMany, keysOf, put, setOp, sorted, token, view } from './conformance-context.js'

/** Keys that break stores which build patterns, queries, scripts or objects out of them. */
const hostileKeys = (nul: boolean) => [
  '%',
  '_',
  '*',
  '?',
  '[',
  ']',
  '[a-z]*',
  '\\',
  '\\%',
  "'",
  '"',
  '`',
  '\n',
  'a\r\nb',
  '\t',
  ' ',
  ' k ',
  'k',
  'K',
  '\u00e9',
  'e\u0301',
  'ключ',
  'キー',
  '🎉',
  'a🎉b',
  '\u{10ffff}',
  '\uffff',
  "'; DROP TABLE entries; --",
  'x" OR "1"="1',
  ']]..redis.call("FLUSHALL")..[[',
  "redis.call('FLUSHALL')",
  '%s%d%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a key that looks like a template on purpose
  '${x}',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  '..',
  '../etc/passwd',
  '/',
  ':',
  '::',
  'a:b',
  '{tag}',
  '\u0001',
  'x'.repeat(1024),
  ...(nul ? ['\u0000', 'a\u0000b', 'a\u0000'] : []),
]

/** Values that an adapter which parses, trims, re-encodes or truncates would change. */
const tricky = [
  '',
  ' ',
  'null',
  'undefined',
  '0',
  'false',
  '{"a":1}',
  '{ "a" : 1 }',
  '{"$t":"Date","v":"2024-01-01T00:00:00.000Z"}',
  JSON.stringify({ $t: 'BigInt', v: '123456789012345678901234567890' }),
  JSON.stringify({ a: { $t: 'Map', v: [['k', { $t: 'Set', v: [1, 2] }]] }, e: { $t: 'Error', v: { message: 'x' } } }),
  '{"v":"looks like an envelope","ver":99,"exp":1}',
  '"quoted"',
  'ünïcödé ✓ 中文 🎉 \u{10ffff}',
  'nul \u0000 inside',
  'line1\nline2\r\nline3\r',
  '\\"escaped\\" \\u0041',
  "'; DROP TABLE entries; --",
  '  padded  ',
]

/** Opens namespace `ns`, or returns `undefined` if the adapter refuses the name with a clear InvalidArgumentError. */
const openOrRefused = async (ctx: ConformanceContext, ns: string) => {
  try {
    return await ctx.openNamespace(ns)
  } catch (error) {
    assert.ok(
      DoSdkError.hasCode(error, 'ERR_INVALID_ARGUMENT'),
      `namespace ${JSON.stringify(ns)} refused with the wrong error: ${String(error)}`,
    )
    assert.ok((error as Error).message.includes(ns), `the error names the namespace: ${(error as Error).message}`)
    return undefined
  }
}

/** Asserts every store sees its own value under `key`, and none sees another's. */
const assertIsolated = async (stores: { ns: string; store: Datastore; value: string }[], key: string) => {
  for (const { ns, store, value } of stores) {
    assert.equal((await store.get(key))?.value, value, `namespace ${JSON.stringify(ns)} reads its own ${key}`)
    const others = new Set(stores.filter((o) => o.store !== store).map((o) => o.value))
    for (const e of await store.list('')) {
      assert.ok(!others.has(e.value), `namespace ${JSON.stringify(ns)} lists another namespace's entry ${JSON.stringify(e.key)}`)
    }
  }
}

/** Hostile keys, opaque values, getMany, namespaces and surfaced errors. */
export const keyGroups = (describe: ConformanceRunner['describe'], test: ConformanceTest, options: DatastoreConformanceOptions) => {
  const keys = hostileKeys(!options.skip?.nulKeys)

  describe('hostile keys are stored as given', () => {
    test('every hostile key round-trips through get, list and delete', async ({ open }) => {
      const s = await open()
      expectOk(await s.batch(keys.map((k) => setOp(k, `value of ${k}`))))
      for (const k of keys)
        assert.deepEqual(view(await s.get(k)), { value: `value of ${k}`, version: 1, expiresAt: undefined }, JSON.stringify(k))
      const listed = await s.list('')
      assert.deepEqual(sorted(keysOf(listed)), sorted(keys))
      for (const e of listed) assert.equal(e.value, `value of ${e.key}`)
      for (const k of keys)
        assert.deepEqual(
          keysOf(await s.list(k)).filter((x) => x === k),
          [k],
          `list(${JSON.stringify(k)}) includes the key`,
        )
      expectOk(await s.batch(keys.map((k) => ({ op: 'delete', key: k }) as const)))
      assert.deepEqual(await s.list(''), [])
    })

    test('pattern characters in a prefix match only themselves', async ({ open }) => {
      const s = await open()
      const ks = ['p', 'p%', 'p%x', 'pX', 'pXx', 'p_', 'p_1', 'pa', 'p*', 'p*z', 'p?', 'p[', 'p[a]', 'pa]', 'p\\', 'p\\%', "p'", 'p"', 'q']
      expectOk(await s.batch(ks.map((k) => setOp(k, k))))
      for (const prefix of ['p%', 'p_', 'p*', 'p?', 'p[', 'p[a', 'p\\', 'p\\%', "p'", 'p"', 'pa']) {
        const expected = sorted(ks.filter((k) => k.startsWith(prefix)))
        assert.deepEqual(keysOf(await s.list(prefix)), expected, `list(${JSON.stringify(prefix)})`)
        assert.deepEqual(
          keysOf(await s.list(prefix, { reverse: true })),
          [...expected].reverse(),
          `reverse list(${JSON.stringify(prefix)})`,
        )
      }
    })

    test('no normalization, case folding or trimming', async ({ open }) => {
      const s = await open()
      const ks = ['\u00e9', 'e\u0301', 'K', 'k', ' k', 'k ', 'ﬁ', 'fi']
      expectOk(await s.batch(ks.map((k, i) => setOp(k, String(i)))))
      for (const [i, k] of ks.entries()) assert.equal((await s.get(k))?.value, String(i), JSON.stringify(k))
      assert.deepEqual(keysOf(await s.list('e')), ['e\u0301'])
      assert.deepEqual(keysOf(await s.list('k')), ['k', 'k '])
      assert.deepEqual(keysOf(await s.list('f')), ['fi'])
    })

    test('astral prefixes list exactly', async ({ open }) => {
      const s = await open()
      const ks = ['🎉', '🎉🎉', '🎉a', '🎊', 'a🎉', '\u{1f389}\u{10ffff}', '\u{10ffff}', '\u{10ffff}x']
      expectOk(await s.batch(ks.map((k) => setOp(k, k))))
      for (const prefix of ['🎉', '🎊', '\u{10ffff}', 'a🎉']) {
        assert.deepEqual(
          sorted(keysOf(await s.list(prefix))),
          sorted(ks.filter((k) => k.startsWith(prefix))),
          `list(${JSON.stringify(prefix)})`,
        )
      }
    })

    test('a 1024-character key', async ({ open }) => {
      const s = await open()
      const long = `${'k'.repeat(1000)}${'é'.repeat(23)}!`
      assert.equal(long.length, 1024)
      await put(s, long, 'v')
      await put(s, long.slice(0, 1023), 'shorter')
      assert.equal((await s.get(long))?.value, 'v')
      assert.deepEqual(keysOf(await s.list(long.slice(0, 1010))), [long.slice(0, 1023), long])
    })
  })

  describe('values are opaque strings', () => {
    test('tricky values round-trip byte for byte', async ({ open }) => {
      const s = await open()
      expectOk(await s.batch(tricky.map((v, i) => setOp(`v/${String(i).padStart(2, '0')}`, v))))
      for (const [i, v] of tricky.entries()) assert.equal((await s.get(`v/${String(i).padStart(2, '0')}`))?.value, v, JSON.stringify(v))
      assert.deepEqual(
        (await s.list('v/')).map((e) => e.value),
        tricky,
      )
      assert.equal((await s.get('v/11'))?.version, 1, 'a value that looks like an envelope does not set the version')
    })

    if (!options.skip?.largeValues) {
      test('a 1 MB value round-trips', async ({ open }) => {
        const s = await open()
        const unit = 'abc ✓ é 🎉 \n{"$t":"x"}\u0000'
        const big = unit.repeat(Math.ceil((1 << 20) / unit.length))
        await put(s, 'big', big)
        const back = await s.get('big')
        assert.equal(back?.value.length, big.length)
        assert.ok(back?.value === big, 'the 1 MB value is unchanged')
        assert.ok((await s.list('big'))[0]?.value === big)
        assert.equal(await put(s, 'big', 'small'), 2)
        assert.equal((await s.get('big'))?.value, 'small')
      })
    }
  })

  describe('getMany', () => {
    test('returns entries in the order asked, undefined for missing, repeats allowed', async ({ open }) => {
      const s = await open()
      await put(s, 'a', '1')
      await put(s, 'b', '1')
      await put(s, 'b', '2')
      assert.deepEqual((await getMany(s, ['b', 'missing', 'a', 'b'])).map(view), [
        { value: '2', version: 2, expiresAt: undefined },
        undefined,
        { value: '1', version: 1, expiresAt: undefined },
        { value: '2', version: 2, expiresAt: undefined },
      ])
      assert.deepEqual(await getMany(s, []), [])
      const many = Array.from({ length: 300 }, (_, i) => `m/${i}`)
      expectOk(await s.batch(many.map((k) => setOp(k, k))))
      assert.deepEqual(
        (await getMany(s, [...many, ...keys])).map((e) => e?.value),
        [...many, ...keys.map(() => undefined)],
      )
    })
  })

  if (options.factoryWithNamespace) {
    describe('namespaces cannot reach each other', () => {
      test('tenant_1 and tenantX1 are isolated for get, list, batch and delete', async (ctx) => {
        const a = await ctx.openNamespace('tenant_1')
        const b = await ctx.openNamespace('tenantX1')
        const va = token('tenant_1')
        const vb = token('tenantX1')
        await put(a, 'k', va)
        await put(b, 'k', vb)
        await put(b, `only-b/${vb}`, vb)
        await assertIsolated(
          [
            { ns: 'tenant_1', store: a, value: va },
            { ns: 'tenantX1', store: b, value: vb },
          ],
          'k',
        )
        assert.equal(await a.get(`only-b/${vb}`), undefined)
        const versionA = (await a.get('k'))?.version
        expectOk(await b.batch([{ op: 'delete', key: 'k' }]))
        assert.deepEqual(view(await a.get('k')), { value: va, version: versionA as number, expiresAt: undefined })
        expectOk(await b.batch([setOp('k', 'b again', { ifVersion: 0 })]))
        assert.equal((await a.get('k'))?.value, va)
      })

      test('"wf:run" + "1" and "wf" + "run:1" are different entries (or the name is refused)', async (ctx) => {
        const x = await openOrRefused(ctx, 'wf:run')
        const y = await ctx.openNamespace('wf')
        const vy = token('wf')
        await put(y, 'run:1', vy)
        if (!x) return
        const vx = token('wf:run')
        await put(x, '1', vx)
        assert.equal((await x.get('1'))?.value, vx)
        assert.equal((await y.get('run:1'))?.value, vy)
        assert.ok(!(await x.list('')).some((e) => e.value === vy))
        assert.ok(!(await y.list('')).some((e) => e.value === vx))
      })

      test('names with separators, patterns and case are isolated (or refused)', async (ctx) => {
        const names = ['n', 'N', 'n:', 'n:k', 'n%', 'n_', 'n*', 'n/', 'n.x', 'n-x', 'n x', 'n{x}']
        const stores: { ns: string; store: Datastore; value: string }[] = []
        for (const ns of names) {
          const store = await openOrRefused(ctx, ns)
          if (store) stores.push({ ns, store, value: token(ns) })
        }
        assert.ok(stores.length >= 2, 'at least "n" and "N" are valid names')
        for (const { store, value } of stores) {
          await put(store, 'k', value)
          await put(store, ':k', value)
        }
        await assertIsolated(stores, 'k')
        await assertIsolated(stores, ':k')
      })
    })
  }

  if (options.breakStore) {
    describe('errors are surfaced, never read as "absent"', () => {
      test('get, getMany, list and batch reject once the store fails', async (ctx) => {
        const s = await ctx.open()
        await put(s, 'k', 'v')
        await ctx.breakStore(s)
        const isFailure = (error: unknown) => {
          assert.ok(error instanceof Error, `rejects with an Error, got ${String(error)}`)
          if (ctx.options.expectStoreError !== false)
            assert.ok(DoSdkError.hasCode(error, 'ERR_STORE'), `a StoreError, got ${String(error)}`)
          return true
        }
        await assert.rejects(() => s.get('k'), isFailure, 'get')
        await assert.rejects(() => s.get('missing'), isFailure, 'get of a missing key')
        if (s.getMany) await assert.rejects(() => (s.getMany as NonNullable<Datastore['getMany']>)(['k']), isFailure, 'getMany')
        await assert.rejects(() => s.list(''), isFailure, 'list')
        await assert.rejects(() => s.batch([setOp('k', 'w')]), isFailure, 'batch')
        await assert.rejects(() => s.batch([{ op: 'check', key: 'k', ifVersion: 1 }]), isFailure, 'check')
      })
    })
  }
}
