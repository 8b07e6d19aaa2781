// docs/guides/retries-and-errors.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import {
  action,
  CancelledError,
  consoleLogger,
  createEngine,
  DEFAULT_RETRY,
  DoSdkError,
  ErrorCodes,
  HookError,
  memoryStore,
  NonDeterminismError,
  NonRetryableError,
  RetryAfterError,
  RunFailedError,
  retryDelay,
  silentLogger,
  systemClock,
  TimeoutError,
  ValidationError,
  workflow,
} from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { tempDir } from '../engine/fixtures.js'
import { captureLogger, gate, nextEvent, recordingStore } from './helpers.js'

describe('Example', () => {
  it('the reminder example: a refused message is noted and the run completes, another failure fails the run', async () => {
    const sendSms = action.create({
      id: 'send-sms',
      description: 'Sends a text message.',
      input: z.object({ to: z.string(), text: z.string() }),
      output: z.object({ id: z.string() }),
      retry: false,
      execute: async ({ to }) => {
        if (to === 'bad') throw new NonRetryableError('SMS API refused the message: invalid number')
        if (to === 'down') throw new Error('SMS API answered 503')
        return { id: 'sms_1' }
      },
    })
    const reminder = workflow.create({
      id: 'appointment-reminder',
      input: z.object({ phone: z.string(), at: z.string() }),
      async run({ input, step }) {
        try {
          const sms = await step.run(sendSms, { to: input.phone, text: `See you at ${input.at}` })
          return { sent: true, id: sms.id }
        } catch (error) {
          if (!DoSdkError.hasCode(error, ErrorCodes.NON_RETRYABLE)) throw error
          await step.store.set(`undeliverable/${input.phone}`, { reason: (error as Error).message })
          return { sent: false }
        }
      },
    })
    const engine = createTestEngine({ workflows: [reminder] })
    await engine.start()
    const ok = await engine.trigger(reminder, { phone: 'good', at: '9am' })
    const bad = await engine.trigger(reminder, { phone: 'bad', at: '9am' })
    const down = await engine.trigger(reminder, { phone: 'down', at: '9am' })
    await engine.settle()
    await expect(ok.result()).resolves.toEqual({ sent: true, id: 'sms_1' })
    await expect(bad.result()).resolves.toEqual({ sent: false })
    expect(await engine.kv.get('undeliverable/bad')).toEqual({ reason: expect.stringContaining('SMS API refused the message') })
    await expect(down.result()).rejects.toBeInstanceOf(RunFailedError)
    await engine.stop()
  })
})

/** Runs `wf` on a test engine, records each retry's delay, and advances time until the run ends. */
const runWithRetries = async (wf: ReturnType<typeof workflow.create>, options: Parameters<typeof createTestEngine>[0] = {}) => {
  const engine = createTestEngine({ workflows: [wf], ...options })
  const delays: number[] = []
  engine.hooks.on('step:retry', (e) => void delays.push(e.delayMs))
  await engine.start()
  const run = await engine.trigger(wf, undefined)
  await engine.settle()
  for (let i = 0; i < 20 && !['completed', 'failed'].includes(await run.status()); i++) await engine.advance('1h')
  const info = await engine.getRun(run.id)
  await engine.stop()
  return { info, delays }
}

describe('Retry options', () => {
  it('a step retry option is merged over the action retry policy', async () => {
    let attempts = 0
    const act = action.create({
      id: 'always-fails',
      description: 'Fails.',
      retry: { retries: 5, minTimeout: 2_000, factor: 3 },
      execute: async () => {
        attempts++
        throw new Error('down')
      },
    })
    const wf = workflow.create({ id: 'merged', run: ({ step }) => step.run(act, undefined, { retry: { retries: 2 } }) })
    const { info, delays } = await runWithRetries(wf)
    expect(attempts).toBe(3)
    expect(delays).toEqual([2_000, 6_000])
    expect(info.steps[0]).toMatchObject({ status: 'failed', attempts: 3 })
  })

  it('action.execute takes a retry policy for one call', async () => {
    let attempts = 0
    const act = action.create({
      id: 'fails-once',
      description: 'Fails once.',
      retry: false,
      execute: async () => {
        if (++attempts === 1) throw new Error('once')
        return attempts
      },
    })
    await expect(act.execute(undefined, { retry: { retries: 1, minTimeout: 1 } })).resolves.toBe(2)
  })

  it('retry false makes a single attempt', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'single',
      run: ({ step }) =>
        step.run(
          'once',
          () => {
            attempts++
            throw new Error('down')
          },
          { retry: false },
        ),
    })
    const { info } = await runWithRetries(wf)
    expect(attempts).toBe(1)
    expect(info.status).toBe('failed')
  })

  it('function steps retry with the defaults: 4 attempts, 1 s, 2 s and 4 s apart', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'defaults',
      run: ({ step }) =>
        step.run('fails', () => {
          attempts++
          throw new Error('down')
        }),
    })
    const { info, delays } = await runWithRetries(wf)
    expect(attempts).toBe(4)
    expect(delays).toEqual([1_000, 2_000, 4_000])
    expect(info.steps[0]).toMatchObject({ status: 'failed', attempts: 4 })
  })

  it('the delay before retry n is min(maxTimeout, minTimeout x factor^(n-1)), times a factor between 1 and 2 with randomize', () => {
    const policy = { ...DEFAULT_RETRY, maxTimeout: 5_000 }
    expect([1, 2, 3, 4].map((n) => retryDelay(policy, n))).toEqual([1_000, 2_000, 4_000, 5_000])
    const random = { ...DEFAULT_RETRY, randomize: true }
    expect(retryDelay(random, 2, undefined, () => 0)).toBe(2_000)
    expect(retryDelay(random, 2, undefined, () => 0.5)).toBe(3_000)
    expect(retryDelay(random, 2, undefined, () => 0.999)).toBeLessThan(4_000)
  })

  it('retries must be an integer of at least 0', () => {
    const make = (retries: number) => () => action.create({ id: 'x', description: 'x', retry: { retries }, execute: async () => 1 })
    expect(make(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(make(1.5)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(make(0)).not.toThrow()
  })

  it('each failed attempt is journaled as retrying, so a restart in another engine does not reset the count', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const seen: number[] = []
    const wf = workflow.create({
      id: 'counted',
      run: ({ step }) =>
        step.run(
          'flaky',
          ({ attempt }) => {
            seen.push(attempt)
            if (attempt < 3) throw new Error(`attempt ${attempt} failed`)
            return attempt
          },
          { retry: { retries: 5, minTimeout: 60_000, factor: 1 } },
        ),
    })
    const first = createTestEngine({ workflows: [wf], store, clock, engineId: 'one' })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    const step = (await first.getRun(run.id)).steps[0]
    expect(step).toMatchObject({ status: 'retrying', attempts: 1, until: clock.now() + 60_000, error: { message: 'attempt 1 failed' } })
    expect(await run.status()).toBe('sleeping')
    await first.stop()
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'two' })
    await second.start()
    await second.advance('1m')
    await second.advance('1m')
    await expect(second.handle(run.id, wf.id).result()).resolves.toBe(3)
    expect(seen).toEqual([1, 2, 3])
    await second.stop()
  })

  it('delays up to inlineRetry are waited in the process, the run staying running', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'inline',
      run: ({ step }) =>
        step.run(
          'flaky',
          () => {
            if (++attempts === 1) throw new Error('once')
            return attempts
          },
          { retry: { retries: 1, minTimeout: 500 } },
        ),
    })
    const engine = createTestEngine({ workflows: [wf], inlineRetry: '1s' })
    await engine.start()
    const retrying = nextEvent(engine, 'step:retry')
    const run = await engine.trigger(wf, undefined)
    expect((await retrying).delayMs).toBe(500)
    expect(await run.status()).toBe('running')
    engine.clock.advance(500) // the in-process wait is on the engine clock
    await expect(run.result()).resolves.toBe(2)
    await engine.stop()
  })

  it('a delay longer than inlineRetry suspends the run: sleeping, the step retrying until the next attempt', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'durable-retry',
      run: ({ step }) =>
        step.run(
          'flaky',
          () => {
            if (++attempts === 1) throw new Error('once')
          },
          { retry: { retries: 1, minTimeout: 2_000 } },
        ),
    })
    const engine = createTestEngine({ workflows: [wf], inlineRetry: '1s' })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('sleeping')
    expect(info.wakeAt).toBe(engine.clock.now() + 2_000)
    expect(info.steps[0]).toMatchObject({ status: 'retrying', until: engine.clock.now() + 2_000 })
    await engine.advance('2s')
    expect(await run.status()).toBe('completed')
    await engine.stop()
  })
})

describe('Errors that are not retried', () => {
  it('NonRetryableError, ValidationError, CancelledError, SerializationError, SizeLimitError, NonDeterminismError, HookError and a TypeError fail at once', async () => {
    const throwers: Record<string, () => unknown> = {
      nonRetryable: () => {
        throw new NonRetryableError('no')
      },
      validation: () => {
        throw new ValidationError('input of action "x"', [])
      },
      cancelled: () => {
        throw new CancelledError('stop')
      },
      serialization: () => ({ f: () => 1 }),
      sizeLimit: () => 'x'.repeat(2_000),
      nonDeterminism: () => {
        throw new NonDeterminismError('changed', 'r', 's')
      },
      hook: () => {
        throw new HookError('bad hook')
      },
      typeError: () => (undefined as unknown as { x: () => void }).x(),
    }
    const wf = workflow.create({
      id: 'not-retried',
      async run({ step }) {
        for (const [name, fn] of Object.entries(throwers))
          await step.run(name, fn, { retry: { retries: 3, minTimeout: 1 } }).catch(() => {})
      },
    })
    const { info } = await runWithRetries(wf, { limits: { stepBytes: 1_000 } })
    expect(info.status).toBe('completed')
    expect(info.steps.map((s) => [s.id, s.status, s.attempts])).toEqual(Object.keys(throwers).map((name) => [`${name}#1`, 'failed', 1]))
  })

  it('an action whose input or output does not match its schema fails at once with a ValidationError', async () => {
    let calls = 0
    const act = action.create({
      id: 'typed',
      description: 'Typed both ways.',
      input: z.object({ n: z.number() }),
      output: z.object({ ok: z.boolean() }),
      retry: { retries: 3, minTimeout: 1 },
      execute: async () => {
        calls++
        return { ok: 'yes' } as never
      },
    })
    const wf = workflow.create({
      id: 'schema-failures',
      async run({ step }) {
        await step.run(act, { n: 'one' } as never).catch(() => {})
        await step.run(act, { n: 1 }).catch(() => {})
      },
    })
    const { info } = await runWithRetries(wf)
    expect(info.steps.map((s) => [s.status, s.attempts, s.error?.code])).toEqual([
      ['failed', 1, 'ERR_VALIDATION'],
      ['failed', 1, 'ERR_VALIDATION'],
    ])
    expect(calls).toBe(1)
  })

  it('a network TypeError and a TimeoutError are retried', async () => {
    const wf = workflow.create({
      id: 'retried',
      async run({ step }) {
        const fail = (error: Error) => (attempt: number) => {
          if (attempt === 1) throw error
          return attempt
        }
        const network = fail(new TypeError('fetch failed'))
        const timeout = fail(new TimeoutError('too slow', 10))
        return [await step.run('network', ({ attempt }) => network(attempt)), await step.run('timeout', ({ attempt }) => timeout(attempt))]
      },
    })
    const { info } = await runWithRetries(wf)
    expect(info.output).toEqual([2, 2])
  })
})

describe('RetryAfterError', () => {
  it('RetryAfterError makes the next attempt wait exactly retryAfterMs, on a durable timer', async () => {
    const wf = workflow.create({
      id: 'retry-after',
      run: ({ step }) =>
        step.run(
          'rate-limited',
          ({ attempt }) => {
            if (attempt === 1) throw new RetryAfterError('quota', 3_600_000)
            return 'sent'
          },
          { retry: { retries: 3, minTimeout: 1_000 } },
        ),
    })
    const engine = createTestEngine({ workflows: [wf] })
    const delays: number[] = []
    engine.hooks.on('step:retry', (e) => void delays.push(e.delayMs))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(delays).toEqual([3_600_000])
    expect((await engine.getRun(run.id)).wakeAt).toBe(engine.clock.now() + 3_600_000)
    await engine.advance('59m')
    expect(await run.status()).toBe('sleeping')
    await engine.advance('1m')
    await expect(run.result()).resolves.toBe('sent')
    await engine.stop()
  })

  it('a RetryAfterError counts as an attempt: with retry false the step fails at once', async () => {
    const wf = workflow.create({
      id: 'retry-after-once',
      run: ({ step }) =>
        step.run(
          'x',
          () => {
            throw new RetryAfterError('later', 1_000)
          },
          { retry: false },
        ),
    })
    const { info } = await runWithRetries(wf)
    expect(info).toMatchObject({ status: 'failed', error: { code: 'ERR_RETRY_AFTER' } })
    expect(info.steps[0]?.attempts).toBe(1)
  })

  it('standalone, a RetryAfterError is waited in the process', async () => {
    let attempts = 0
    const act = action.create({
      id: 'later',
      description: 'Asks to come back.',
      retry: { retries: 1, minTimeout: 60_000 },
      execute: async () => {
        if (++attempts === 1) throw new RetryAfterError('later', 5)
        return attempts
      },
    })
    await expect(act.execute(undefined)).resolves.toBe(2)
  })
})

describe('Timeouts', () => {
  it('timeout bounds each attempt: its signal aborts with a TimeoutError and the retry policy decides', async () => {
    const reasons: unknown[] = []
    const act = action.create({
      id: 'first-attempt-hangs',
      description: 'Hangs once.',
      timeout: 5,
      retry: { retries: 1, minTimeout: 1 },
      execute: (_: undefined, { signal, attempt }) =>
        attempt === 1
          ? new Promise((_resolve, reject) =>
              signal.addEventListener('abort', () => {
                reasons.push(signal.reason)
                reject(signal.reason)
              }),
            )
          : Promise.resolve('second'),
    })
    await expect(act.execute(undefined)).resolves.toBe('second')
    expect(reasons).toEqual([expect.objectContaining({ code: 'ERR_TIMEOUT' })])
  })

  it('there is no timeout by default', () => {
    const act = action.create({ id: 'untimed', description: 'No timeout.', execute: async () => 1 })
    expect(act.describe().timeoutMs).toBeUndefined()
  })

  it('a timeout past 24.8 days does not fire early', async () => {
    const act = action.create({
      id: 'long-timeout',
      description: 'Answers after a few ms.',
      timeout: '30d',
      retry: false,
      execute: () => new Promise((resolve) => setTimeout(() => resolve('answered'), 20)),
    })
    await expect(act.execute(undefined)).resolves.toBe('answered')
    let fired = false
    const cancel = systemClock.setTimer(
      () => {
        fired = true
      },
      2 ** 31 + 1_000,
    )
    await new Promise((r) => setTimeout(r, 20))
    cancel()
    expect(fired).toBe(false)
  })
})

describe('Idempotency keys', () => {
  it('the key runId:stepId stays the same across retries, a crash and takeover, and engine.retry', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const keys: string[] = []
    let fail = true
    const charge = action.create({
      id: 'charge',
      description: 'Charges a card.',
      retry: { retries: 1, minTimeout: 1_000 },
      execute: async (_: undefined, { idempotencyKey }) => {
        keys.push(idempotencyKey)
        if (fail) throw new Error('declined for now')
        return 'ch_1'
      },
    })
    const wf = workflow.create({ id: 'pay', run: ({ step }) => step.run(charge, undefined) })
    const first = createTestEngine({ workflows: [wf], store, clock })
    await first.start()
    await first.trigger(wf, undefined, { id: 'order_1' })
    await first.settle()
    await first.advance('1s') // the retry, which fails too: the run fails
    expect(await first.handle('order_1', wf.id).status()).toBe('failed')
    await first.retry('order_1') // engine.retry
    fail = false
    await first.stop()
    const crashing = createTestEngine({ workflows: [wf], store, clock, engineId: 'app', crashBeforeCommit: 'charge#1' })
    await crashing.start()
    await crashing.settle() // attempted, then the engine dies before the commit
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    expect(await second.handle('order_1', wf.id).result()).toBe('ch_1')
    expect(keys).toHaveLength(4)
    expect(new Set(keys)).toEqual(new Set(['order_1:charge#1']))
    await second.stop()
  })

  it('a function step gets the same key in its context', async () => {
    const keys: string[] = []
    const wf = workflow.create({
      id: 'fn-key',
      run: ({ step }) =>
        step.run(
          'work',
          ({ idempotencyKey, attempt }) => {
            keys.push(idempotencyKey)
            if (attempt === 1) throw new Error('once')
          },
          { retry: { retries: 1, minTimeout: 1 } },
        ),
    })
    await runWithRetries(wf)
    expect(keys).toEqual([expect.stringMatching(/:work#1$/), expect.stringMatching(/:work#1$/)])
    expect(keys[0]).toBe(keys[1])
  })

  it('standalone execute uses one fresh UUID for all its attempts, or the key passed', async () => {
    const keys: string[] = []
    const act = action.create({
      id: 'keyed',
      description: 'Fails once.',
      retry: { retries: 1, minTimeout: 1 },
      execute: async (_: undefined, { idempotencyKey, attempt }) => {
        keys.push(idempotencyKey)
        if (attempt === 1) throw new Error('once')
      },
    })
    await act.execute(undefined)
    await act.execute(undefined)
    await act.execute(undefined, { idempotencyKey: 'mine' })
    expect(keys[0]).toBe(keys[1])
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(keys[2]).not.toBe(keys[0])
    expect(keys.slice(4)).toEqual(['mine', 'mine'])
  })
})

describe('What a failed step looks like in the workflow', () => {
  it('a failed step throws an error rebuilt from the journal, the same on the first run and on replay', async () => {
    class CardDeclined extends Error {
      code = 'card_declined'
      override name = 'CardDeclined'
    }
    const passes: unknown[] = []
    const wf = workflow.create({
      id: 'rebuilt',
      async run({ step }) {
        const seen: unknown[] = []
        for (const make of [() => new NonRetryableError('no such user'), () => new CardDeclined('declined')]) {
          try {
            await step.run(
              'fails',
              () => {
                throw make()
              },
              { retry: false },
            )
          } catch (error) {
            const e = error as Error & { code?: string }
            seen.push({
              name: e.name,
              message: e.message,
              code: e.code,
              nonRetryable: e instanceof NonRetryableError,
              own: e instanceof CardDeclined,
            })
          }
        }
        passes.push(seen)
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    expect(passes).toHaveLength(2)
    expect(passes[1]).toEqual(passes[0])
    expect(passes[0]).toEqual([
      { name: 'NonRetryableError', message: '[do-sdk] no such user', code: 'ERR_NON_RETRYABLE', nonRetryable: true, own: false },
      { name: 'CardDeclined', message: 'declined', code: 'card_declined', nonRetryable: false, own: false },
    ])
    await engine.stop()
  })

  it('a retryable error that exhausted several attempts becomes an ActionFailedError that says so', async () => {
    const sms = action.create({
      id: 'send-sms',
      description: 'Sends a text.',
      retry: { retries: 1, minTimeout: 1 },
      execute: async () => {
        throw new Error('SMS API answered 503')
      },
    })
    const wf = workflow.create({ id: 'exhausted', run: ({ step }) => step.run(sms, undefined) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'r1' })
    await engine.settle()
    await engine.advance(1)
    expect((await engine.getRun(run.id)).error).toMatchObject({
      name: 'ActionFailedError',
      code: 'ERR_ACTION_FAILED',
      message: 'Step "send-sms#1" of run "r1" failed after 2 attempts: SMS API answered 503',
    })
    await engine.stop()
  })
})

describe('What a failed run looks like', () => {
  const failing = () =>
    workflow.create({
      id: 'appointment-reminder',
      run: ({ step }) =>
        step.run(
          'send-sms',
          () => {
            throw new NonRetryableError('SMS API refused the message')
          },
          {},
        ),
    })

  it('a failed run shows its error and the failed step, and result rejects with a RunFailedError whose cause is the run error', async () => {
    const wf = failing()
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'r1' })
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'failed', retries: 0, error: { name: 'NonRetryableError', code: 'ERR_NON_RETRYABLE' } })
    expect(info.finishedAt).toBeTypeOf('number')
    expect(info.steps).toEqual([expect.objectContaining({ id: 'send-sms#1', kind: 'fn', status: 'failed', attempts: 1 })])
    const error = await run.result().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RunFailedError)
    expect((error as RunFailedError).code).toBe('ERR_RUN_FAILED')
    expect((error as RunFailedError).cause).toMatchObject({ code: 'ERR_NON_RETRYABLE', message: '[do-sdk] SMS API refused the message' })
    await engine.stop()
  })

  it('workflow:fail and step:fail fire for a failed run', async () => {
    const wf = failing()
    const engine = createTestEngine({ workflows: [wf] })
    const events: string[] = []
    engine.hooks.on('step:fail', (e) => void events.push(`step:fail ${e.stepId}`))
    engine.hooks.on('workflow:fail', (e) => void events.push(`workflow:fail ${(e.error as Error & { code?: string }).code}`))
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    expect(events).toEqual(['step:fail send-sms#1', 'workflow:fail ERR_NON_RETRYABLE'])
    await engine.stop()
  })

  it('a failed run is kept for retention, then removed, and listRuns finds it meanwhile', async () => {
    const wf = failing()
    const engine = createTestEngine({ workflows: [wf], retention: '1d' })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('23h')
    expect((await engine.listRuns({ status: 'failed' })).runs.map((r) => r.id)).toEqual([run.id])
    await engine.advance('1h')
    await expect(engine.getRun(run.id)).rejects.toMatchObject({ code: 'ERR_RUN_NOT_FOUND' })
    await engine.stop()
  })

  it('a failed run logs one warn line naming the run, workflow, step, error and engine.retry', async () => {
    const wf = failing()
    const { logger, at } = captureLogger()
    const engine = createTestEngine({ workflows: [wf], logger })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'r1' })
    await engine.settle()
    expect(at('warn')).toEqual([
      'Run "r1" of workflow "appointment-reminder" failed at step "send-sms#1": [do-sdk] SMS API refused the message. Fix the cause, then retry it with engine.retry("r1").',
    ])
    await engine.stop()
  })

  describe('DO_SDK_LOG', () => {
    afterEach(() => {
      vi.unstubAllEnvs()
      vi.restoreAllMocks()
    })

    it('DO_SDK_LOG=debug logs when a run starts, suspends, resumes and completes', async () => {
      vi.stubEnv('DO_SDK_LOG', 'debug')
      const lines: string[] = []
      vi.spyOn(console, 'debug').mockImplementation((line: string) => {
        lines.push(line)
      })
      const wf = workflow.create({
        id: 'logged',
        async run({ step }) {
          await step.sleep('1m')
        },
      })
      const engine = createTestEngine({ workflows: [wf], logger: consoleLogger() })
      await engine.start()
      await engine.trigger(wf, undefined, { id: 'l1' })
      await engine.settle()
      await engine.advance('1m')
      expect(lines.filter((l) => !l.includes(' step "'))).toEqual([
        '[do-sdk] Run "l1" of workflow "logged" started',
        expect.stringMatching(/^\[do-sdk\] Run "l1" suspended \(sleeping until /),
        expect.stringMatching(/^\[do-sdk\] Run "l1" resumed/),
        '[do-sdk] Run "l1" completed',
      ])
      await engine.stop()
    })
  })
})

describe('engine.retry(runId)', () => {
  it('only failed runs can be retried: any other status throws an EngineStateError', async () => {
    const wf = workflow.create({ id: 'fine', run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(engine.retry(run.id)).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' })
    await engine.stop()
  })

  it('retry runs the failure that ended the run again with a fresh attempt count; committed steps and caught failures keep their outcome', async () => {
    let broken = true
    const attempts: Record<string, number[]> = {}
    const track = (name: string, attempt: number) => {
      attempts[name] ??= []
      attempts[name].push(attempt)
    }
    const wf = workflow.create({
      id: 'retry-from-failure',
      async run({ step }) {
        await step.run('committed', ({ attempt }) => track('committed', attempt))
        const fallback = await step
          .run(
            'optional',
            ({ attempt }) => {
              track('optional', attempt)
              throw new NonRetryableError('no profile picture')
            },
            {},
          )
          .catch(() => 'default picture')
        await step.run(
          'fragile',
          ({ attempt }) => {
            track('fragile', attempt)
            if (broken) throw new Error('service down')
          },
          { retry: { retries: 1, minTimeout: 1 } },
        )
        return fallback
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance(1)
    expect(await run.status()).toBe('failed')
    broken = false
    await engine.retry(run.id)
    await engine.settle()
    await expect(run.result()).resolves.toBe('default picture')
    expect(attempts).toEqual({ committed: [1], optional: [1], fragile: [1, 2, 1] })
    await engine.stop()
  })

  it('retry keeps the idempotency keys, and getRun().retries counts the retries', async () => {
    const keys: string[] = []
    let failures = 2
    const wf = workflow.create({
      id: 'counted-retries',
      run: ({ step }) =>
        step.run(
          'charge',
          ({ idempotencyKey }) => {
            keys.push(idempotencyKey)
            if (failures-- > 0) throw new Error('declined')
          },
          { retry: false },
        ),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'c1' })
    await engine.settle()
    await engine.retry(run.id)
    await engine.settle()
    await engine.retry(run.id)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'completed', retries: 2 })
    expect(keys).toEqual(['c1:charge#1', 'c1:charge#1', 'c1:charge#1'])
    await engine.stop()
  })

  it('retry tries again the step failure the workflow caught before throwing its own error', async () => {
    let broken = true
    let charges = 0
    const wf = workflow.create({
      id: 'rethrows',
      async run({ step }) {
        try {
          return await step.run(
            'charge',
            () => {
              charges++
              if (broken) throw new Error('gateway down')
              return 'paid'
            },
            { retry: false },
          )
        } catch (error) {
          throw new Error(`payment failed: ${(error as Error).message}`)
        }
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).error?.message).toBe('payment failed: gateway down')
    broken = false
    await engine.retry(run.id)
    await engine.settle()
    await expect(run.result()).resolves.toBe('paid')
    expect(charges).toBe(2)
    await engine.stop()
  })

  it('retry of a run whose step.invoke failed retries the failed child first', async () => {
    let broken = true
    const child = workflow.create({
      id: 'ship',
      run: ({ step }) =>
        step.run(
          'label',
          () => {
            if (broken) throw new Error('printer jammed')
            return 'label-1'
          },
          { retry: false },
        ),
    })
    const parent = workflow.create({ id: 'order', run: ({ step }) => step.invoke(child, undefined) })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined, { id: 'o1' })
    await engine.settle()
    const childId = (await engine.getRun('o1')).steps[0]?.childId as string
    expect((await engine.getRun(childId)).status).toBe('failed')
    expect(await run.status()).toBe('failed')
    broken = false
    await engine.retry(run.id)
    await engine.settle()
    await expect(run.result()).resolves.toBe('label-1')
    expect(await engine.getRun(childId)).toMatchObject({ status: 'completed', retries: 1 })
    await engine.stop()
  })
})

describe('Cancelling', () => {
  it('cancel ends a run as cancelled: actions in flight see their signal abort and result rejects with a CancelledError', async () => {
    const running = gate()
    let aborted: unknown
    const slow = action.create({
      id: 'slow',
      description: 'Waits for its signal.',
      execute: (_: undefined, { signal }) =>
        new Promise((_resolve, reject) => {
          running.open()
          signal.addEventListener('abort', () => {
            aborted = signal.reason
            reject(signal.reason)
          })
        }),
    })
    const wf = workflow.create({ id: 'cancellable', run: ({ step }) => step.run(slow, undefined) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await running.wait
    await engine.cancel(run.id, 'customer left')
    await engine.settle()
    expect(aborted).toBeInstanceOf(CancelledError)
    const info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'cancelled', error: { name: 'CancelledError', code: 'ERR_CANCELLED', message: 'customer left' } })
    await expect(run.result()).rejects.toBeInstanceOf(CancelledError)
    await expect(engine.retry(run.id)).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' })
    await engine.stop()
  })

  it('cancel reaches a child started at that very moment', async () => {
    const { store, control } = recordingStore(memoryStore())
    const child = workflow.create({ id: 'child', run: ({ step }) => step.waitForEvent('never') })
    const parent = workflow.create({ id: 'parent', run: ({ step }) => step.invoke(child, undefined) })
    const engine = createTestEngine({ workflows: [parent, child], store })
    let cancelled: Promise<unknown> | undefined
    control.beforeBatch = (ops) => {
      // The batch that creates the child is on its way to the store: cancel the parent now.
      if (!cancelled && ops.some((o) => o.op === 'set' && o.key === 'run/p/invoke:child#1')) cancelled = engine.cancel('p', 'now')
    }
    await engine.start()
    await engine.trigger(parent, undefined, { id: 'p' })
    await engine.settle()
    await cancelled
    await engine.settle()
    expect((await engine.getRun('p')).status).toBe('cancelled')
    expect((await engine.getRun('p/invoke:child#1')).status).toBe('cancelled')
    await engine.stop()
  })

  it('cancel from another process resolves once the request is stored; the owner acts on it at its next commit', async () => {
    const path = join(tempDir('do-docs-cancel-'), 'runs.db')
    const first = gate()
    const running = gate()
    const ran: string[] = []
    const wf = workflow.create({
      id: 'three-steps',
      async run({ step }) {
        await step.run('one', async () => {
          ran.push('one')
          running.open()
          await first.wait
        })
        await step.run('two', () => ran.push('two'))
      },
    })
    const stores = [sqliteStore({ path }), sqliteStore({ path })]
    const [owner, other] = stores.map((store) => createEngine({ store, workflows: [wf], logger: silentLogger, keepAlive: false })) as [
      ReturnType<typeof createEngine>,
      ReturnType<typeof createEngine>,
    ]
    await owner.start()
    const run = await owner.trigger(wf, undefined)
    await running.wait
    await other.cancel(run.id, 'from elsewhere') // stored as a request: step one still runs
    expect((await other.getRun(run.id)).status).toBe('running')
    first.open()
    await expect(owner.handle(run.id, wf.id).result()).rejects.toBeInstanceOf(CancelledError)
    expect(ran).toEqual(['one'])
    await owner.stop()
    await other.stop()
    for (const s of stores) await s.close?.()
  })
})

describe('Edge cases', () => {
  it('standalone execute throws the error itself after one attempt, and an ActionFailedError with attempts and cause after several', async () => {
    const down = new Error('down')
    const make = (retries: number) =>
      action.create({
        id: 'always-down',
        description: 'Fails.',
        retry: { retries, minTimeout: 1 },
        execute: async () => {
          throw down
        },
      })
    await expect(make(0).execute(undefined)).rejects.toBe(down)
    const several = await make(2)
      .execute(undefined)
      .catch((e: unknown) => e)
    expect(several).toMatchObject({ code: 'ERR_ACTION_FAILED', attempts: 3, cause: down })
    const refused = new NonRetryableError('no')
    const once = action.create({
      id: 'refuses',
      description: 'Refuses.',
      retry: { retries: 3, minTimeout: 1 },
      execute: async () => {
        throw refused
      },
    })
    await expect(once.execute(undefined)).rejects.toBe(refused)
  })

  it('an error thrown by workflow code outside any step fails the run at once, without retries', async () => {
    let calls = 0
    const wf = workflow.create({
      id: 'throws',
      async run() {
        calls++
        throw new Error('bug')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1h')
    expect(await engine.getRun(run.id)).toMatchObject({ status: 'failed', error: { message: 'bug' }, steps: [] })
    expect(calls).toBe(1)
    await engine.stop()
  })

  it('an output that fails the output schema or exceeds limits.stepBytes fails the run with a ValidationError or a SizeLimitError', async () => {
    const typed = workflow.create({ id: 'typed-output', output: z.object({ ok: z.boolean() }), run: async () => ({ ok: 'yes' }) as never })
    const big = workflow.create({ id: 'big-output', run: async () => 'x'.repeat(2_000) })
    const engine = createTestEngine({ workflows: [typed, big], limits: { stepBytes: 1_000 } })
    await engine.start()
    const a = await engine.trigger(typed, undefined)
    const b = await engine.trigger(big, undefined)
    await engine.settle()
    expect((await engine.getRun(a.id)).error?.code).toBe('ERR_VALIDATION')
    expect((await engine.getRun(b.id)).error?.code).toBe('ERR_SIZE_LIMIT')
    await engine.stop()
  })
})
