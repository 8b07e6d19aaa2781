import { CapabilityError, CorruptRecordError, DoSdkError, InvalidArgumentError, keyvStore, StoreError } from '@do-sdk/core'
import Keyv from 'keyv'
import { describe, expect, it } from 'vitest'

const keyvOn = (store: Map<string, unknown> = new Map(), extra: Record<string, unknown> = {}) =>
  new Keyv({ store, throwOnErrors: true, ...extra })
const set = (key: string, value: string, expiresAt?: number) => ({
  op: 'set' as const,
  key,
  value,
  ...(expiresAt === undefined ? {} : { expiresAt }),
})

/** A Keyv storage adapter that starts failing on demand, like a database that went away. */
class FailingStore extends Map<string, unknown> {
  failing = false
  override get(key: string) {
    if (this.failing) throw new Error('connection refused')
    return super.get(key)
  }
  override set(key: string, value: unknown) {
    if (this.failing) throw new Error('connection refused')
    return super.set(key, value)
  }
}

describe('keyvStore', () => {
  it('a throwing Keyv store makes get, list and batch reject with a StoreError naming the key', async () => {
    const backend = new FailingStore()
    const store = keyvStore(keyvOn(backend))
    await store.batch([set('k', 'v')])
    backend.failing = true
    const error = await store.get('run:1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect(DoSdkError.hasCode(error, 'ERR_STORE')).toBe(true)
    expect((error as Error).message).toBe('[do-sdk] [keyv] get of "run:1" failed: connection refused')
    expect((error as Error).cause).toBeInstanceOf(Error)
    await expect(store.list('')).rejects.toBeInstanceOf(StoreError)
    await expect(store.batch([set('k', 'v')])).rejects.toBeInstanceOf(StoreError)
  })

  it('refuses a Keyv that fails open (throwOnErrors not set)', () => {
    expect(() => keyvStore(new Keyv({ store: new Map() }))).toThrow(InvalidArgumentError)
    expect(() => keyvStore(new Keyv({ store: new Map() }))).toThrow(/throwOnErrors: true/)
  })

  it('refuses a Keyv store that cannot iterate with a CapabilityError', () => {
    const plain = {
      get: async () => undefined,
      set: async () => true,
      delete: async () => true,
      clear: async () => {},
      opts: { dialect: 'custom' },
    }
    const keyv = new Keyv({ store: plain, throwOnErrors: true })
    expect(keyv.iterator).toBeUndefined()
    expect(() => keyvStore(keyv)).toThrow(CapabilityError)
  })

  it('refuses a namespace that could be ambiguous', () => {
    expect(() => keyvStore(keyvOn(), { namespace: 'wf:run' })).toThrow('[do-sdk] [keyv] Invalid namespace "wf:run"')
    expect(() => keyvStore(keyvOn(), { namespace: '' })).toThrow(InvalidArgumentError)
  })

  it('declares single-process, non-atomic batches', () => {
    expect(keyvStore(keyvOn()).capabilities).toEqual({ multiProcess: false, atomicBatch: false, nativeTtl: true, pubsub: false })
  })

  it('loads its key index from the backend: a new store on the same data lists every key', async () => {
    const map = new Map<string, unknown>()
    const first = keyvStore(keyvOn(map), { namespace: 'app' })
    await first.batch([set('b', '2'), set('a', '1'), set('c', '3', Date.now() + 60_000)])
    await first.close?.()
    const second = keyvStore(keyvOn(map), { namespace: 'app' })
    expect((await second.list('')).map((e) => [e.key, e.value, e.version])).toEqual([
      ['a', '1', 1],
      ['b', '2', 1],
      ['c', '3', 1],
    ])
    expect(await keyvStore(keyvOn(map), { namespace: 'other' }).list('')).toEqual([])
    await second.close?.()
  })

  it('keeps "x" and "keyv:x" apart although Keyv would not re-prefix "keyv:x"', async () => {
    const store = keyvStore(keyvOn())
    await store.batch([set('x', 'plain'), set('keyv:x', 'prefixed'), set(':x', 'colon')])
    expect((await store.get('x'))?.value).toBe('plain')
    expect((await store.get('keyv:x'))?.value).toBe('prefixed')
    expect((await store.get(':x'))?.value).toBe('colon')
  })

  it('ignores a default Keyv ttl for entries without expiresAt', async () => {
    const store = keyvStore(keyvOn(new Map(), { ttl: 30 }))
    await store.batch([set('k', 'v')])
    await new Promise((r) => setTimeout(r, 80))
    expect((await store.get('k'))?.value).toBe('v')
  })

  it('refuses a second store on the same Keyv backend and namespace while the first is open', async () => {
    const map = new Map<string, unknown>()
    const first = keyvStore(keyvOn(map))
    await first.get('k')
    const second = keyvStore(keyvOn(map))
    await expect(second.get('k')).rejects.toBeInstanceOf(CapabilityError)
    await second.close?.()
    await first.close?.()
    const third = keyvStore(keyvOn(map))
    expect(await third.get('k')).toBeUndefined()
    await third.close?.()
  })

  it('skips foreign data when listing and reports it as corrupt when read', async () => {
    const keyv = keyvOn()
    await keyv.set('keyv::foreign', 'not ours')
    await keyv.set('unrelated', { some: 'object' })
    const store = keyvStore(keyv)
    await store.batch([set('mine', 'v')])
    expect((await store.list('')).map((e) => e.key)).toEqual(['mine'])
    await expect(store.get('foreign')).rejects.toBeInstanceOf(CorruptRecordError)
  })

  it('sweeps expired entries out of the backend', async () => {
    const map = new Map<string, unknown>()
    const store = keyvStore(keyvOn(map), { sweepIntervalMs: 20 })
    await store.batch([set('short', 'v', Date.now() + 150), set('long', 'v')])
    expect(map.size).toBe(2)
    await new Promise((r) => setTimeout(r, 300))
    expect([...map.keys()]).toEqual(['keyv::long'])
    await store.close?.()
  })

  it('rejects every call after close', async () => {
    const store = keyvStore(keyvOn())
    await store.close?.()
    await expect(store.get('k')).rejects.toThrow('[do-sdk] [keyv] The store is closed.')
  })
})
