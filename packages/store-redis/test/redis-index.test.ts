// The Redis store's reads through its key index: `list` in bounded pages, `count`, the sweep of
// index members whose entries Redis expired, and the rule that every script declares its keys.
import type { Datastore } from '@do-sdk/core'
import { redisStore } from '@do-sdk/store-redis'
import { createClient } from '@keyv/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { LIST_PAGE } from '../src/listing.js'
import type { RedisStoreInternals } from '../src/redis-store.js'
import { SCRIPTS } from '../src/scripts.js'
import { startRedisForTests } from './redis-server.js'

const redis = await startRedisForTests()
afterAll(() => redis?.stop())
const url = redis?.url as string
let n = 0
const ns = (label: string) => `${label}${process.pid}x${++n}`

/** A connected client; `onReply` sees every command it sends and the reply, which waits for it. */
const client = async (onReply?: (args: string[], reply: unknown) => unknown) => {
  const c = createClient({ url })
  c.on('error', () => {})
  await c.connect()
  if (onReply) {
    const send = c.sendCommand.bind(c) as (args: string[], ...rest: unknown[]) => Promise<unknown>
    ;(c as unknown as { sendCommand: typeof send }).sendCommand = async (args, ...rest) => {
      const reply = await send(args, ...rest)
      await onReply(args, reply)
      return reply
    }
  }
  return c
}
const set = (key: string, value = 'v', expiresAt?: number) => ({ op: 'set' as const, key, value, ...(expiresAt ? { expiresAt } : {}) })
const pad = (i: number) => String(i).padStart(6, '0')
const sweep = (store: Datastore) => (store as unknown as RedisStoreInternals).sweepExpired()
/** Resolves once Redis no longer holds `key` (it expired it): waits on the server's state, not on a duration. */
const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5))
}

describe.skipIf(!redis)('redisStore list, count and the expiry sweep', () => {
  it('lists a 20,000-entry prefix in pages: complete and ordered, no script call returning more than a page', async () => {
    const listCalls: { declared: number; entries: number; members: number }[] = []
    const own = await client((args, reply) => {
      if (args[1] !== SCRIPTS.list.sha && args[1] !== SCRIPTS.list.source) return
      const [flat, members] = reply as [unknown[], string[]]
      listCalls.push({ declared: Number(args[2]), entries: flat.length / 4, members: members.length })
    })
    const name = ns('pages')
    const store = redisStore({ client: own }, { namespace: name })
    const keys = Array.from({ length: 20_000 }, (_, i) => `jrn/a/${pad(i)}`)
    for (let i = 0; i < keys.length; i += 1_000) await store.batch(keys.slice(i, i + 1_000).map((k) => set(k, k)))
    await store.batch([set('jrn/a'), set('jrn/b/1'), set('jrm/z')]) // around the prefix, never listed with it

    const all = await store.list('jrn/a/')
    expect(all.map((e) => e.key)).toEqual(keys)
    expect(all.every((e) => e.value === e.key && e.version === 1)).toBe(true)
    expect(listCalls).toHaveLength(20_000 / LIST_PAGE + 1) // n pages: n + 1 calls
    expect(Math.max(...listCalls.map((c) => c.entries))).toBe(LIST_PAGE)
    expect(Math.max(...listCalls.map((c) => c.members))).toBe(LIST_PAGE)
    expect(Math.max(...listCalls.map((c) => c.declared))).toBe(LIST_PAGE + 1) // the index and a page of entries

    listCalls.length = 0
    const last = await store.list('jrn/a/', { reverse: true, limit: 1_234 })
    expect(last.map((e) => e.key)).toEqual(keys.slice(-1_234).reverse())
    expect(listCalls.map((c) => c.members)).toEqual([500, 500, 234, 0]) // members read just to the limit
    expect((await store.list('jrn/a/', { after: keys[9_998], before: keys[10_600], limit: 5 })).map((e) => e.key)).toEqual(
      keys.slice(9_999, 10_004),
    )
    expect(await store.list('jrn/a/', { limit: 0 })).toEqual([])
    expect(await store.count?.('jrn/a/')).toBe(20_000)
    await store.close?.()
    await own.close()
  })

  it('an entry gone between reading its member and its hash is left out, its member removed, and the limit still met', async () => {
    const name = ns('gone')
    const raw = await client()
    let calls = 0
    const own = await client(async (args) => {
      // Right after the first page of members was read, Redis loses two of those entries (evicted,
      // expired) behind the store's back.
      if (args[1] === SCRIPTS.list.sha && ++calls === 1) await raw.sendCommand(['DEL', `do:{${name}}:e:k/0003`, `do:{${name}}:e:k/0007`])
    })
    const store = redisStore({ client: own }, { namespace: name })
    await store.batch(Array.from({ length: 12 }, (_, i) => set(`k/${String(i).padStart(4, '0')}`)))
    const listed = await store.list('k/', { limit: 10 })
    expect(listed.map((e) => e.key)).toEqual([
      'k/0000',
      'k/0001',
      'k/0002',
      'k/0004',
      'k/0005',
      'k/0006',
      'k/0008',
      'k/0009',
      'k/0010',
      'k/0011',
    ])
    expect(await raw.sendCommand(['ZCARD', `do:{${name}}:i`])).toBe(10)
    await store.close?.()
    await Promise.all([own.close(), raw.close()])
  })

  it('every key a script touches is one it declared in KEYS, all in the namespace slot', async () => {
    const name = ns('declared')
    const lines: string[] = []
    const monitor = await client()
    let marker: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      marker = resolve
    })
    await monitor.monitor((line: string) => {
      lines.push(line)
      if (line.includes('"end-of-declared-test"')) marker()
    })
    const store = redisStore({ url }, { namespace: name, sweepIntervalMs: 0 })
    const now = (await store.now?.()) as number
    await store.batch(Array.from({ length: 1_100 }, (_, i) => set(`k/${pad(i)}`)))
    await store.batch([set('t/1', 'v', now + 20), set('t/2', 'v', now + 60_000), { op: 'delete', key: 'k/000001' }, set('k/000002')])
    await store.batch([set('t/2', 'w')]) // leaves a stale member in the expiry set
    await store.getMany?.(['k/000000', 't/2', 'none'])
    await store.list('k/')
    await store.list('', { reverse: true, limit: 3 })
    const raw = await client()
    await until(async () => Number(await raw.sendCommand(['EXISTS', `do:{${name}}:e:t/1`])) === 0)
    expect(await store.count?.('t/')).toBe(1) // sweeps t/1's member first
    await sweep(store)
    await raw.sendCommand(['ECHO', 'end-of-declared-test'])
    await done
    await store.close?.()
    await Promise.all([monitor.close(), raw.close()])

    // MONITOR shows a script's call, then each command it ran ("[0 lua]") before anything else.
    const args = (line: string) => [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string)
    let declared: Set<string> | undefined
    const touched: string[] = []
    const undeclared: string[] = []
    for (const line of lines) {
      const a = args(line)
      const command = (a[0] ?? '').toUpperCase()
      if (!line.includes(' lua] ')) {
        declared = command === 'EVALSHA' || command === 'EVAL' ? new Set(a.slice(3, 3 + Number(a[2]))) : undefined
        for (const key of declared ?? []) expect(key.startsWith(`do:{${name}}:`)).toBe(true)
        continue
      }
      if (command === 'TIME') continue
      touched.push(command)
      if (!declared?.has(a[1] as string)) undeclared.push(line)
    }
    expect(undeclared).toEqual([])
    // The scripts really ran the commands checked above.
    for (const c of ['HMGET', 'HSET', 'ZADD', 'ZREM', 'DEL', 'PEXPIREAT', 'ZRANGEBYLEX', 'ZREVRANGEBYLEX', 'ZRANGEBYSCORE', 'ZLEXCOUNT'])
      expect(touched).toContain(c)
  })

  it('count: live entries of a range, as list sees them; expired ones are not counted and leave the index', async () => {
    const name = ns('count')
    const store = redisStore({ url }, { namespace: name, sweepIntervalMs: 0 })
    const raw = await client()
    const now = (await store.now?.()) as number
    await store.batch([
      ...['run/1', 'run/2', 'run/3', 'run/4', 'run%', 'run*', 'runs'].map((k) => set(k)),
      set('run/5', 'v', now + 20),
      set('run/6', 'v', now + 3_600_000),
    ])
    await until(async () => Number(await raw.sendCommand(['EXISTS', `do:{${name}}:e:run/5`])) === 0)
    expect(await raw.sendCommand(['ZCARD', `do:{${name}}:i`])).toBe(9) // Redis dropped the hash, not its member
    const both = async (prefix: string, options: { after?: string; before?: string } = {}) => {
      const counted = await store.count?.(prefix, options)
      expect(counted).toBe((await store.list(prefix, options)).length)
      return counted
    }
    expect(await both('run/')).toBe(5)
    expect(await raw.sendCommand(['ZCARD', `do:{${name}}:i`])).toBe(8)
    expect(await raw.sendCommand(['ZRANGE', `do:{${name}}:x`, '0', '-1'])).toEqual(['run/6'])
    expect(await both('run/', { after: 'run/2' })).toBe(3)
    expect(await both('run/', { before: 'run/4' })).toBe(3)
    expect(await both('run*')).toBe(1)
    expect(await both('')).toBe(8)
    expect(await both('nothing/')).toBe(0)
    expect(await redisStore({ url }, { namespace: ns('empty') }).count?.('')).toBe(0)
    await store.close?.()
    await raw.close()
  })

  it('the sweeper removes the index members of expired entries, keeps live ones, and drops stale expiry members', async () => {
    const name = ns('sweep')
    const store = redisStore({ url }, { namespace: name, sweepIntervalMs: 0 })
    expect(Object.keys(store)).not.toContain('sweepExpired')
    expect(await sweep(store)).toBe(0) // never connected: nothing to do
    const raw = await client()
    const key = (k: string) => `do:{${name}}:${k}`
    const now = (await store.now?.()) as number
    const soon = now + 20
    await store.batch([
      ...Array.from({ length: 1_200 }, (_, i) => set(`old/${pad(i)}`, 'v', soon)),
      set('later', 'v', now + 3_600_000),
      set('forever'),
      // Rewritten without expiry in the same batch (no clock involved): its expiry member is stale.
      set('rewritten', 'v', soon),
      set('rewritten', 'w'),
    ])
    await until(async () => Number(await raw.sendCommand(['EXISTS', key('e:old/000000'), key('e:old/001199')])) === 0)
    expect(await raw.sendCommand(['ZCARD', key('i')])).toBe(1_203)
    expect(await sweep(store)).toBe(1_200)
    expect(await raw.sendCommand(['ZRANGE', key('i'), '0', '-1'])).toEqual(['forever', 'later', 'rewritten'])
    expect(await raw.sendCommand(['ZRANGE', key('x'), '0', '-1'])).toEqual(['later'])
    expect(await store.get('rewritten')).toEqual({ value: 'w', version: 2 })
    expect(await sweep(store)).toBe(0)
    await store.close?.()
    expect(await sweep(store)).toBe(0) // closed: nothing to sweep with
    await raw.close()
  })

  it('the periodic sweeper runs on its own and stops with close()', async () => {
    const name = ns('periodic')
    const store = redisStore({ url }, { namespace: name, sweepIntervalMs: 1 })
    const raw = await client()
    const now = (await store.now?.()) as number
    await store.batch([set('gone', 'v', now + 20), set('kept')])
    await until(async () => Number(await raw.sendCommand(['ZCARD', `do:{${name}}:i`])) === 1)
    expect(await raw.sendCommand(['ZRANGE', `do:{${name}}:i`, '0', '-1'])).toEqual(['kept'])
    await store.close?.()
    await raw.close()
  })
})
