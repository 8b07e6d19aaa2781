import { InvalidArgumentError, StoreError } from '@do-sdk/core'
import { redisStore } from '@do-sdk/store-redis'
import { createClient } from '@keyv/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { startRedisForTests } from './redis-server.js'

describe('startRedisForTests', () => {
  const withEnv = async (env: Record<string, string | undefined>, fn: () => Promise<void>) => {
    const saved = { CI: process.env.CI, REDIS_SERVER_BIN: process.env.REDIS_SERVER_BIN }
    Object.assign(process.env, env)
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]
    try {
      await fn()
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
    }
  }
  it('under CI=true a missing redis-server fails; outside CI it skips with a warning', async () => {
    await withEnv({ CI: 'true', REDIS_SERVER_BIN: '/nonexistent/redis-server' }, async () => {
      await expect(startRedisForTests()).rejects.toThrow('redis-server not found')
    })
    await withEnv({ CI: undefined, REDIS_SERVER_BIN: '/nonexistent/redis-server' }, async () => {
      const warn = console.warn
      const warnings: unknown[] = []
      console.warn = (...args: unknown[]) => warnings.push(args)
      try {
        expect(await startRedisForTests()).toBeUndefined()
      } finally {
        console.warn = warn
      }
      expect(String(warnings[0])).toContain('SKIPPING the Redis tests')
    })
  })
})

const redis = await startRedisForTests()
afterAll(() => redis?.stop())

let n = 0
const ns = (label: string) => `${label}${process.pid}x${++n}`
const url = redis?.url as string
/** A raw client for looking at what the store wrote. */
const raw = async () => {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  return client
}
const set = (key: string, value: string, extra: { ifVersion?: number; expiresAt?: number } = {}) => ({
  op: 'set' as const,
  key,
  value,
  ...extra,
})

describe('redisStore options', () => {
  it('needs a url or a client, and a plain namespace', () => {
    expect(() => redisStore({} as { url: string })).toThrow(InvalidArgumentError)
    expect(() => redisStore({} as { url: string })).toThrow('[do-sdk] [redis] Missing required option "url" (or "client").')
    expect(() => redisStore({ url: 'redis://x' }, { namespace: 'wf:run' })).toThrow('[do-sdk] [redis] Invalid namespace "wf:run"')
    expect(() => redisStore({ url: 'redis://x' }, { namespace: 'a{b}' })).toThrow(InvalidArgumentError)
  })

  it('declares every capability (not the deprecated nativeTtl), and refuses a bad sweep interval', () => {
    expect(redisStore({ url: 'redis://x' }).capabilities).toEqual({ multiProcess: true, atomicBatch: true, pubsub: true })
    expect(() => redisStore({ url: 'redis://x' }, { sweepIntervalMs: -1 })).toThrow('"sweepIntervalMs" must be a number of ms >= 0')
  })
})

describe.skipIf(!redis)('redisStore on a real server', () => {
  it('keeps each namespace under its own hash-tagged keys on one server', async () => {
    const a = redisStore({ url }, { namespace: ns('tenant_1') })
    const b = redisStore({ url }, { namespace: ns('tenantX1') })
    await a.batch([set('k', 'a'), set('*', 'star')])
    await b.batch([set('k', 'b')])
    expect((await a.get('k'))?.value).toBe('a')
    expect((await b.get('k'))?.value).toBe('b')
    expect((await b.list('')).map((e) => e.key)).toEqual(['k'])
    const client = await raw()
    const keys = (await client.sendCommand(['KEYS', `do:{tenant_1${process.pid}*`])) as string[]
    expect(keys.sort()).toEqual([
      `do:{tenant_1${process.pid}x${n - 1}}:e:*`,
      `do:{tenant_1${process.pid}x${n - 1}}:e:k`,
      `do:{tenant_1${process.pid}x${n - 1}}:i`,
    ])
    await Promise.all([a.close?.(), b.close?.(), client.close()])
  })

  it('with an existing client: connects it if needed, never closes it', async () => {
    const client = createClient({ url })
    client.on('error', () => {})
    const name = ns('own')
    const store = redisStore({ client }, { namespace: name })
    expect(client.isOpen).toBe(false)
    await store.batch([set('k', 'v')])
    expect(client.isOpen).toBe(true)
    await store.close?.()
    expect(client.isOpen).toBe(true)
    expect(await client.sendCommand(['PING'])).toBe('PONG')
    await expect(store.get('k')).rejects.toThrow('[do-sdk] [redis] The store is closed.')
    const again = redisStore({ client }, { namespace: name })
    expect((await again.get('k'))?.value).toBe('v')
    await again.close?.()
    await client.close()
    await expect(again.get('k')).rejects.toBeInstanceOf(StoreError)
  })

  it('pub/sub: a message published by one process reaches the subscribers of its namespace only', async () => {
    const name = ns('pubsub')
    const a = redisStore({ url }, { namespace: name })
    const b = redisStore({ url }, { namespace: name })
    const other = redisStore({ url }, { namespace: ns('pubsub-other') })
    const got: string[] = []
    const off = await a.subscribe?.('run:1', (m) => got.push(m))
    await other.publish?.('run:1', 'not for you')
    await b.publish?.('run:1', 'wake up ✓')
    const deadline = Date.now() + 2_000
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    await new Promise((r) => setTimeout(r, 50))
    expect(got).toEqual(['wake up ✓'])
    await off?.()
    await Promise.all([a.close?.(), b.close?.(), other.close?.()])
  })

  it('getMany is one round trip (one script call) whatever the number of keys', async () => {
    const store = redisStore({ url }, { namespace: ns('many') })
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`)
    await store.batch(keys.map((k) => set(k, k)))
    const client = await raw()
    const calls = async () => {
      const info = (await client.sendCommand(['INFO', 'commandstats'])) as string
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0)
    }
    const before = await calls()
    const entries = await store.getMany?.([...keys, 'missing'])
    expect(await calls()).toBe(before + 1)
    expect(entries?.map((e) => e?.value)).toEqual([...keys, undefined])
    await Promise.all([store.close?.(), client.close()])
  })

  it('expiry is native: Redis drops the entry itself, and the index forgets it', async () => {
    const name = ns('ttl')
    const store = redisStore({ url }, { namespace: name })
    const client = await raw()
    const now = (await store.now?.()) as number
    await store.batch([set('short', 'v', { expiresAt: now + 100 }), set('later', 'v', { expiresAt: now + 60_000 }), set('long', 'v')])
    // Redis drops a key once its time is past `at`: at = expiresAt - 1 makes "expiresAt <= now" exact.
    expect(await client.sendCommand(['PEXPIRETIME', `do:{${name}}:e:later`])).toBe(now + 60_000 - 1)
    expect(await client.sendCommand(['PEXPIRETIME', `do:{${name}}:e:long`])).toBe(-1)
    await new Promise((r) => setTimeout(r, 200))
    expect(await client.sendCommand(['EXISTS', `do:{${name}}:e:short`])).toBe(0)
    expect((await store.list('')).map((e) => e.key)).toEqual(['later', 'long'])
    expect(await client.sendCommand(['ZRANGE', `do:{${name}}:i`, '0', '-1'])).toEqual(['later', 'long'])
    await Promise.all([store.close?.(), client.close()])
  })

  it('batch writes each hash with the fewest commands and keeps the TTL, the expiry field and the index exact', async () => {
    const name = ns('lean')
    const store = redisStore({ url }, { namespace: name })
    const client = await raw()
    const key = (k: string) => `do:{${name}}:e:${k}`
    const index = async () => client.sendCommand(['ZRANGE', `do:{${name}}:i`, '0', '-1'])
    const stats = async () => {
      const info = (await client.sendCommand(['INFO', 'commandstats'])) as string
      const calls: Record<string, number> = {}
      for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) calls[m[1] as string] = Number(m[2])
      return calls
    }
    const now = (await store.now?.()) as number
    expect(await store.batch([set('k', 'a')])).toEqual({ ok: true, versions: [1] })
    // Rewriting a key that has no expiry: one HMGET and one HSET, nothing else.
    const before = await stats()
    expect(await store.batch([set('k', 'b', { ifVersion: 1 })])).toEqual({ ok: true, versions: [2] })
    const after = await stats()
    const delta = (c: string) => (after[c] ?? 0) - (before[c] ?? 0)
    expect([delta('hmget'), delta('hset'), delta('del'), delta('zadd'), delta('time')]).toEqual([1, 1, 0, 0, 0])
    // An expiry set, then dropped by a set without one: field and TTL go.
    await store.batch([set('k', 'c', { expiresAt: now + 60_000 })])
    expect(await client.sendCommand(['PEXPIRETIME', key('k')])).toBe(now + 60_000 - 1)
    expect(await store.batch([set('k', 'd')])).toEqual({ ok: true, versions: [4] })
    expect(await client.sendCommand(['PEXPIRETIME', key('k')])).toBe(-1)
    expect(await client.sendCommand(['HKEYS', key('k')])).toEqual(['v', 'n'])
    // Delete then set in one batch, a new key set then deleted, a delete of an absent key.
    expect(await store.batch([{ op: 'delete', key: 'k' }, set('k', 'e'), set('gone', 'g'), { op: 'delete', key: 'gone' }])).toEqual({
      ok: true,
      versions: [0, 1, 1, 0],
    })
    expect(await store.batch([{ op: 'delete', key: 'never' }])).toEqual({ ok: true, versions: [0] })
    expect(await index()).toEqual(['k'])
    expect(await client.sendCommand(['EXISTS', key('gone'), key('never')])).toBe(0)
    expect(await store.get('k')).toEqual({ value: 'e', version: 1 })
    // A conflict names the op's key exactly as given.
    const odd = 'é\u{1F600}:*'
    await store.batch([set(odd, 'x')])
    expect(await store.batch([set('k', 'f', { ifVersion: 1 }), set(odd, 'y', { ifVersion: 0 })])).toEqual({
      ok: false,
      conflictKey: odd,
      actualVersion: 1,
    })
    await Promise.all([store.close?.(), client.close()])
  })

  it('an entry whose hash Redis expired is new again: version 1, back in the index', async () => {
    const name = ns('reborn')
    const store = redisStore({ url }, { namespace: name })
    const client = await raw()
    const now = (await store.now?.()) as number
    await store.batch([set('k', 'a', { expiresAt: now + 50 }), set('k', 'b', { expiresAt: now + 50 })])
    await new Promise((r) => setTimeout(r, 120))
    expect(await store.get('k')).toBeUndefined()
    expect(await store.list('')).toEqual([])
    expect(await client.sendCommand(['ZRANGE', `do:{${name}}:i`, '0', '-1'])).toEqual([])
    expect(await store.batch([set('k', 'c', { ifVersion: 0 })])).toEqual({ ok: true, versions: [1] })
    expect(await store.list('')).toEqual([{ key: 'k', value: 'c', version: 1 }])
    await Promise.all([store.close?.(), client.close()])
  })

  it('now() is the Redis clock', async () => {
    const store = redisStore({ url }, { namespace: ns('clock') })
    const client = await raw()
    const [seconds] = (await client.sendCommand(['TIME'])) as [string]
    const now = (await store.now?.()) as number
    expect(Math.abs(now - Number(seconds) * 1000)).toBeLessThan(2_000)
    await Promise.all([store.close?.(), client.close()])
  })

  it('CLIENT PAUSE WRITE: writes wait for the pause to end, then all succeed; nothing is lost', async () => {
    const store = redisStore({ url }, { namespace: ns('pause') })
    await store.batch([set('counter', '0')])
    const admin = await raw()
    await admin.sendCommand(['CLIENT', 'PAUSE', '300', 'WRITE'])
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.batch([set(`k${i}`, String(i), { ifVersion: 0 })])))
    expect(Date.now() - started).toBeGreaterThanOrEqual(200)
    expect(results.every((r) => r.ok)).toBe(true)
    expect((await store.list('k')).length).toBe(20)
    await Promise.all([store.close?.(), admin.close()])
  })

  it('a frozen server (SIGSTOP): reads and compare-and-set writes wait, then succeed exactly once', async () => {
    const store = redisStore({ url }, { namespace: ns('frozen') })
    await store.batch([set('counter', '0')])
    const frozen = redis?.freeze(400) as Promise<void>
    const started = Date.now()
    const increments = Array.from({ length: 10 }, async () => {
      for (;;) {
        const e = await store.get('counter')
        const r = await store.batch([set('counter', String(Number(e?.value) + 1), { ifVersion: e?.version ?? 0 })])
        if (r.ok) return
      }
    })
    await Promise.all([...increments, frozen])
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)
    const counter = await store.get('counter')
    expect(counter).toEqual({ value: '10', version: 11 })
    await store.close?.()
  })
})
