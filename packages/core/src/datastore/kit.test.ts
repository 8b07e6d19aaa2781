import { describe, expect, it, vi } from 'vitest'
import { CapabilityError, InvalidArgumentError, StoreError } from '../errors.js'
import {
  compareCodePoints,
  describeBatch,
  expirySweeper,
  lazyResource,
  namespaceOption,
  prefixEnd,
  promiseLock,
  storeError,
} from './kit.js'

/** A promise with its resolve and reject in hand, to settle it from the test. */
const deferred = <T = void>() => {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('prefixEnd', () => {
  it('is the successor of the last code point that has one', () => {
    expect(prefixEnd('run/')).toBe('run0')
    expect(prefixEnd('a\u{10FFFF}')).toBe('b')
    expect(prefixEnd('x\uD7FF')).toBe('x\uE000') // skips the surrogate range
    expect(prefixEnd('\u{1F600}')).toBe('\u{1F601}')
    expect(prefixEnd('')).toBeUndefined()
    expect(prefixEnd('\u{10FFFF}\u{10FFFF}')).toBeUndefined()
  })

  it('bounds exactly the strings with the prefix, in code point order', () => {
    const prefix = 'p\uFFFF'
    const end = prefixEnd(prefix) as string
    for (const inside of [prefix, `${prefix}\u{10000}`, `${prefix}\u{10FFFF}x`]) {
      expect(compareCodePoints(inside, prefix)).toBeGreaterThanOrEqual(0)
      expect(compareCodePoints(inside, end)).toBeLessThan(0)
    }
    for (const outside of ['p\u{10000}', 'q', 'p\uFFFE\u{10FFFF}']) {
      const before = compareCodePoints(outside, prefix) < 0
      const after = compareCodePoints(outside, end) >= 0
      expect(before || after).toBe(true)
    }
  })
})

describe('compareCodePoints', () => {
  it('orders as UTF-8 bytes do, not as UTF-16 units', () => {
    expect(compareCodePoints('\uffff', '\u{10000}')).toBeLessThan(0)
    expect('\uffff' < '\u{10000}').toBe(false)
    const words = ['b', '\u{10000}', 'a\uffff', 'ab', '', 'a', '\uffff']
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    expect([...words].sort(compareCodePoints)).toEqual(byBytes)
  })
})

describe('storeError', () => {
  it('wraps a failure as a StoreError naming the store and what failed, with the cause', () => {
    const cause = new Error('database is locked')
    const error = storeError('sqlite', 'get of "k"', cause)
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toBe('[do-sdk] [sqlite] get of "k" failed: database is locked')
    expect((error as StoreError).store).toBe('sqlite')
    expect(error.cause).toBe(cause)
    expect(storeError('redis', 'TIME', 'ECONNRESET').message).toBe('[do-sdk] [redis] TIME failed: ECONNRESET')
  })

  it('returns a do-sdk error as it is, never wrapped twice', () => {
    const original = new CapabilityError('[do-sdk] [sqlite] install better-sqlite3')
    expect(storeError('sqlite', 'opening', original)).toBe(original)
    const inner = storeError('sqlite', 'get', new Error('x'))
    expect(storeError('sqlite', 'list', inner)).toBe(inner)
  })
})

describe('describeBatch', () => {
  it('names the op count, the first key and how many other keys', () => {
    expect(describeBatch([{ op: 'set', key: 'a', value: '1' }])).toBe('batch of 1 op on "a"')
    expect(
      describeBatch([
        { op: 'set', key: 'a', value: '1' },
        { op: 'delete', key: 'a' },
        { op: 'check', key: 'b', ifVersion: 1 },
      ]),
    ).toBe('batch of 3 ops on "a" and 1 more key')
    expect(describeBatch(['a', 'b', 'c'].map((key) => ({ op: 'delete', key })))).toBe('batch of 3 ops on "a" and 2 more keys')
  })
})

describe('namespaceOption', () => {
  const plain = { default: 'default', pattern: /^[A-Za-z0-9_.-]{1,64}$/, allowed: '1 to 64 letters, digits, "_", "-" or "."' }

  it('gives the default for undefined and the value when it is allowed', () => {
    expect(namespaceOption('redis', undefined, plain)).toBe('default')
    expect(namespaceOption('redis', 'billing-2.eu', plain)).toBe('billing-2.eu')
    expect(namespaceOption('sqlite', 'wf:run %_*', { default: '' })).toBe('wf:run %_*')
    expect(namespaceOption('sqlite', '', { default: 'x' })).toBe('')
  })

  it('refuses a non-string, a lone surrogate and what the pattern does not allow, naming the store', () => {
    const refused = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError)
        return (error as Error).message
      }
      throw new Error('not refused')
    }
    expect(refused(() => namespaceOption('sqlite', 42, { default: '' }))).toBe(
      '[do-sdk] [sqlite] Invalid namespace (number): it must be a string.',
    )
    expect(refused(() => namespaceOption('sqlite', null, { default: '' }))).toContain('(null)')
    expect(refused(() => namespaceOption('sqlite', 'a\uD800', { default: '' }))).toBe(
      '[do-sdk] [sqlite] Invalid namespace "a\\ud800": it contains a lone UTF-16 surrogate, which cannot be stored as text.',
    )
    expect(namespaceOption('sqlite', 'a\u{1F600}', { default: '' })).toBe('a\u{1F600}') // a pair is fine
    expect(refused(() => namespaceOption('redis', 'wf:run', plain))).toBe(
      '[do-sdk] [redis] Invalid namespace "wf:run": use 1 to 64 letters, digits, "_", "-" or ".".',
    )
    expect(refused(() => namespaceOption('redis', '', plain))).toContain('Invalid namespace ""')
  })
})

describe('promiseLock', () => {
  it('runs sections one at a time in call order, past failures', async () => {
    const lock = promiseLock()
    const log: string[] = []
    const gate = deferred()
    const first = lock(async () => {
      log.push('1 start')
      await gate.promise
      log.push('1 end')
      return 1
    })
    const second = lock(() => {
      log.push('2')
      throw new Error('boom')
    })
    const third = lock(async () => {
      log.push('3')
      return 3
    })
    await Promise.resolve()
    expect(log).toEqual(['1 start'])
    gate.resolve()
    expect(await first).toBe(1)
    await expect(second).rejects.toThrow('boom')
    expect(await third).toBe(3)
    expect(log).toEqual(['1 start', '1 end', '2', '3'])
  })
})

describe('lazyResource', () => {
  const closedError = () => new StoreError('[do-sdk] [test] The store is closed.', 'test')

  it('opens once for concurrent callers, then gives the value without opening again', async () => {
    let opens = 0
    const gate = deferred<string>()
    const r = lazyResource({
      open: () => {
        opens++
        return gate.promise
      },
      closedError,
    })
    expect(r.value).toBeUndefined()
    const [a, b] = [r.get(), r.get()]
    gate.resolve('conn')
    expect(await Promise.all([a, b])).toEqual(['conn', 'conn'])
    expect(r.value).toBe('conn')
    expect(await r.get()).toBe('conn')
    expect(opens).toBe(1)
  })

  it('a failed open rejects its callers and the next call tries again', async () => {
    let opens = 0
    const r = lazyResource({
      open: async () => {
        if (++opens === 1) throw new Error('disk gone')
        return 'conn'
      },
      closedError,
    })
    await expect(r.get()).rejects.toThrow('disk gone')
    expect(r.value).toBeUndefined()
    expect(await r.get()).toBe('conn')
    expect(opens).toBe(2)
  })

  it('close releases what was opened, once, and every later get rejects with the closed error', async () => {
    const released: string[] = []
    const r = lazyResource({ open: async () => 'conn', release: (v) => void released.push(v), closedError })
    await r.get()
    await Promise.all([r.close(), r.close()])
    expect(released).toEqual(['conn'])
    expect(r.closed).toBe(true)
    expect(r.value).toBeUndefined()
    await expect(r.get()).rejects.toThrow('[do-sdk] [test] The store is closed.')
  })

  it('a resource still opening when close is called is released once it opens; one never opened is not', async () => {
    const released: string[] = []
    const gate = deferred<string>()
    const r = lazyResource({ open: () => gate.promise, release: (v) => void released.push(v), closedError })
    const pending = r.get()
    const closing = r.close()
    gate.resolve('late')
    await closing
    expect(await pending).toBe('late')
    expect(released).toEqual(['late'])
    expect(r.value).toBeUndefined()

    const failing = lazyResource({
      open: () => Promise.reject(new Error('no')),
      release: () => void released.push('never'),
      closedError,
    })
    const attempt = failing.get().catch((e: Error) => e.message)
    await failing.close()
    expect(await attempt).toBe('no')
    expect(released).toEqual(['late'])
    // Never opened at all: close has nothing to release.
    await lazyResource({ open: async () => 'x', release: () => void released.push('x'), closedError }).close()
    expect(released).toEqual(['late'])
  })
})

describe('expirySweeper', () => {
  it('run() sweeps now; concurrent calls share one sweep', async () => {
    let sweeps = 0
    const gate = deferred<number>()
    const sweeper = expirySweeper({
      intervalMs: 0,
      sweep: () => {
        sweeps++
        return gate.promise
      },
    })
    const a = sweeper.run()
    const b = sweeper.run()
    gate.resolve(7)
    expect(await Promise.all([a, b])).toEqual([7, 7])
    expect(sweeps).toBe(1)
    sweeper.stop()
  })

  it('sweeps periodically, passes failures to onError and goes on, stops on stop()', async () => {
    const errors: unknown[] = []
    const done = deferred()
    let calls = 0
    const sweeper = expirySweeper({
      intervalMs: 1,
      sweep: async () => {
        calls++
        if (calls === 1) throw new Error('busy')
        if (calls === 3) done.resolve()
        return 0
      },
      onError: (e) => errors.push(e),
    })
    await done.promise
    sweeper.stop()
    expect(calls).toBeGreaterThanOrEqual(3)
    expect(errors.map((e) => (e as Error).message)).toEqual(['busy'])
    const after = calls
    // A stopped sweeper schedules nothing more: a later timer turn sees no new call.
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(calls).toBe(after)
  })

  it('its timer does not keep the process alive, and a huge interval does not overflow', () => {
    const created: ReturnType<typeof setTimeout>[] = []
    const delays: number[] = []
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      const timer = setInterval(fn, ms) // any real timer: the sweeper must unref what it gets
      clearInterval(timer)
      delays.push(ms)
      created.push(timer as unknown as ReturnType<typeof setTimeout>)
      return timer
    }) as unknown as typeof setTimeout)
    try {
      const sweeper = expirySweeper({ intervalMs: 2 ** 40, sweep: async () => 0 })
      sweeper.stop()
    } finally {
      spy.mockRestore()
    }
    expect(created).toHaveLength(1)
    expect(created[0]?.hasRef()).toBe(false)
    expect(delays).toEqual([2 ** 31 - 1]) // capped: a larger delay overflows and fires at once
  })
})
