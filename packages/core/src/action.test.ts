import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { action } from './action.js'
import {
  ActionFailedError,
  DoSdkError,
  InvalidArgumentError,
  NonRetryableError,
  RetryAfterError,
  TimeoutError,
  ValidationError,
} from './errors.js'

const fast = { retries: 3, minTimeout: 1, factor: 1 }

describe('action.create', () => {
  it('validates the id and names the bad one', () => {
    expect(() => action.create({ id: 'bad id!', description: 'x', execute: () => 1 })).toThrowError(/Invalid action id "bad id!"/)
    expect(() => action.create({ id: '', description: 'x', execute: () => 1 })).toThrow(InvalidArgumentError)
    expect(() => action.create({ id: 'ok', description: '', execute: () => 1 })).toThrowError(/needs a description/)
    // @ts-expect-error a malformed duration does not compile, and is refused at run time too
    expect(() => action.create({ id: 'ok', description: 'x', timeout: 'soon', execute: () => 1 })).toThrowError(
      /Invalid timeout of action "ok"/,
    )
  })

  it('parses input before execute and never calls execute on bad input', async () => {
    let calls = 0
    const a = action.create({
      id: 'greet',
      description: 'Greets someone.',
      input: z.object({ email: z.string().email(), age: z.number().int().default(3) }),
      execute: (input) => {
        calls++
        return input
      },
    })
    const err: any = await a.execute({ email: 'nope' } as never).catch((e: any) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect(err.code).toBe('ERR_VALIDATION')
    expect(err.issues[0].path).toEqual(['email'])
    expect(err.message).toMatch(/input of action "greet"/)
    expect(calls).toBe(0)
    await expect(a.execute({ email: 'a@b.co' })).resolves.toEqual({ email: 'a@b.co', age: 3 })
    expect(calls).toBe(1)
  })

  it('validates output after execute, without retrying', async () => {
    let calls = 0
    const a = action.create({
      id: 'out',
      description: 'Returns the wrong shape.',
      output: z.object({ id: z.string() }),
      retry: fast,
      execute: () => {
        calls++
        return { id: 42 } as never
      },
    })
    const err: any = await a.execute({}).catch((e: any) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect(err.issues[0].path).toEqual(['id'])
    expect(err.subject).toBe('output of action "out"')
    expect(calls).toBe(1)
  })

  it('retries a failing attempt and counts attempts; the key stays the same', async () => {
    const seen: { attempt: number; key: string }[] = []
    const a = action.create({
      id: 'flaky',
      description: 'Fails twice.',
      retry: fast,
      execute: (_: unknown, ctx) => {
        seen.push({ attempt: ctx.attempt, key: ctx.idempotencyKey })
        if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`)
        return 'ok'
      },
    })
    await expect(a.execute(undefined)).resolves.toBe('ok')
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3])
    expect(new Set(seen.map((s) => s.key)).size).toBe(1)
  })

  it('gives up after retries with ActionFailedError carrying the last error', async () => {
    let calls = 0
    const a = action.create({
      id: 'always-fails',
      description: 'Always fails.',
      retry: { retries: 2, minTimeout: 1 },
      execute: () => {
        calls++
        throw new Error(`fail ${calls}`)
      },
    })
    const err: any = await a.execute({}).catch((e: any) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.attempts).toBe(3)
    expect((err.cause as Error).message).toBe('fail 3')
    expect(calls).toBe(3)
  })

  it('stops at once on NonRetryableError', async () => {
    let calls = 0
    const a = action.create({
      id: 'fatal',
      description: 'Fails for good.',
      retry: fast,
      execute: () => {
        calls++
        throw new NonRetryableError('card declined')
      },
    })
    await expect(a.execute({})).rejects.toThrow(NonRetryableError)
    expect(calls).toBe(1)
  })

  it('waits the time a RetryAfterError asks for', async () => {
    const times: number[] = []
    const a = action.create({
      id: 'rate-limited',
      description: 'Rate limited once.',
      retry: { retries: 1, minTimeout: 0 },
      execute: () => {
        times.push(performance.now())
        if (times.length === 1) throw new RetryAfterError('429', 120)
        return 'done'
      },
    })
    await expect(a.execute({})).resolves.toBe('done')
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(110)
  })

  it('aborts the attempt signal on timeout and retries with a fresh signal', async () => {
    const signals: AbortSignal[] = []
    const a = action.create({
      id: 'slow',
      description: 'Hangs until aborted.',
      timeout: '20ms',
      retry: { retries: 1, minTimeout: 1 },
      execute: (_: unknown, { signal }) =>
        new Promise((_resolve, reject) => {
          signals.push(signal)
          signal.addEventListener('abort', () => reject(signal.reason))
        }),
    })
    const err: any = await a.execute({}).catch((e: any) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.cause).toBeInstanceOf(TimeoutError)
    expect(signals).toHaveLength(2)
    expect(signals.every((s) => s.aborted)).toBe(true)
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError)
  })

  it('honours a caller signal: aborting stops the attempt and further retries', async () => {
    const controller = new AbortController()
    let calls = 0
    const a = action.create({
      id: 'cancellable',
      description: 'Waits.',
      retry: fast,
      execute: (_: unknown, { signal }) =>
        new Promise((_r, reject) => {
          calls++
          signal.addEventListener('abort', () => reject(signal.reason))
        }),
    })
    setTimeout(() => controller.abort(new Error('user cancelled')), 10)
    await expect(a.execute({}, { signal: controller.signal })).rejects.toThrow('user cancelled')
    expect(calls).toBe(1)
  })

  it('gives each standalone call a fresh idempotency key unless one is passed', async () => {
    const a = action.create({ id: 'key', description: 'Returns its key.', execute: (_: unknown, ctx) => ctx.idempotencyKey })
    const k1 = await a.execute({})
    const k2 = await a.execute({})
    expect(k1).not.toBe(k2)
    expect(k1).toMatch(/^[0-9a-f-]{36}$/)
    await expect(a.execute({}, { idempotencyKey: 'order-7' })).resolves.toBe('order-7')
  })

  it('describes itself with JSON Schema for input and output', () => {
    const a = action.create({
      id: 'send-welcome-email',
      description: 'Sends a welcome email to a new user.',
      input: z.object({ email: z.string().email(), name: z.string() }),
      output: z.object({ success: z.boolean(), messageId: z.string() }),
      timeout: '30s',
      execute: async () => ({ success: true, messageId: 'm' }),
    })
    const d = a.describe()
    expect(d.id).toBe('send-welcome-email')
    expect(d.timeoutMs).toBe(30_000)
    expect(d.inputSchema).toMatchObject({ type: 'object', required: ['email', 'name'] })
    expect((d.inputSchema.properties as Record<string, { format?: string }>).email.format).toBe('email')
    expect(d.outputSchema).toMatchObject({ type: 'object', properties: { success: { type: 'boolean' } } })
    expect(action.catalog([a]).map((x) => x.id)).toEqual(['send-welcome-email'])
  })

  it('types flow from schemas and from execute', async () => {
    const typed = action.create({
      id: 'typed',
      description: 'Typed.',
      input: z.object({ n: z.number() }),
      output: z.object({ doubled: z.number() }),
      execute: ({ n }) => ({ doubled: n * 2 }),
    })
    const out: { doubled: number } = await typed.execute({ n: 2 })
    expect(out.doubled).toBe(4)
    const inferred = action.create({ id: 'inferred', description: 'Inferred.', execute: (x: { a: string }) => x.a.length })
    const len: number = await inferred.execute({ a: 'abc' })
    expect(len).toBe(3)
  })
})

describe('DoSdkError', () => {
  it('is recognised across copies by its marker, with a stable code and cause', () => {
    const cause = new Error('root')
    const err = new NonRetryableError('nope', { cause })
    expect(DoSdkError.isInstance(err)).toBe(true)
    expect(err.cause).toBe(cause)
    const foreign = Object.assign(new Error('x'), { [Symbol.for('do-sdk.error')]: true, code: 'ERR_TIMEOUT' })
    expect(DoSdkError.isInstance(foreign)).toBe(true)
    expect(DoSdkError.hasCode(foreign, 'ERR_TIMEOUT')).toBe(true)
    expect(DoSdkError.isInstance(new Error('plain'))).toBe(false)
    expect(err.message).toBe('[do-sdk] nope')
  })
})
