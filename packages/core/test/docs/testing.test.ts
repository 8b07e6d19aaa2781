// docs/guides/testing.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { action, definePlugin, memoryStore, NonRetryableError, workflow } from '../../src/index.js'
import { createTestEngine, datastoreConformance, virtualClock } from '../../src/testing/index.js'
import { tempDir } from '../engine/fixtures.js'
import { gate, nextEvent } from './helpers.js'

const DAY = 86_400_000
const sent: string[] = []
const sendEmail = action.create({
  id: 'send-email',
  description: 'Sends a templated email.',
  input: z.object({ to: z.string(), template: z.string() }),
  execute: async ({ to, template }, { idempotencyKey }) => {
    sent.push(`${template} to ${to} [${idempotencyKey}]`)
    return { ok: true }
  },
})

const trial = workflow.create({
  id: 'trial',
  input: z.object({ email: z.string() }),
  async run({ input, step }) {
    await step.run(sendEmail, { to: input.email, template: 'welcome' }, { id: 'welcome' })
    const upgrade = await step.waitForEvent<{ plan: string }>('upgraded', { timeout: '14d' })
    if (upgrade) return { plan: upgrade.plan }
    await step.run(sendEmail, { to: input.email, template: 'trial-expired' }, { id: 'expired' })
    return { plan: 'free' }
  },
})

const sqlitePath = () => join(tempDir('do-docs-testing-'), 'test.db')

describe('Example', () => {
  beforeEach(() => {
    sent.length = 0
  })

  it('expires after 14 days without an upgrade', async () => {
    const engine = createTestEngine({ workflows: [trial] })
    await engine.start()
    const run = await engine.trigger(trial, { email: 'jane@example.com' }, { id: 'trial:1' })
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('waiting')
    await engine.advance('13d')
    expect(sent).toEqual(['welcome to jane@example.com [trial:1:welcome#1]'])
    await engine.advance('1d')
    await expect(run.result()).resolves.toEqual({ plan: 'free' })
    expect(sent).toHaveLength(2)
    await engine.stop()
  })

  it('ends with the plan of the upgrade', async () => {
    const engine = createTestEngine({ workflows: [trial] })
    await engine.start()
    const run = await engine.trigger(trial, { email: 'jane@example.com' })
    await engine.settle()
    await engine.signal(run.id, 'upgraded', { plan: 'pro' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ plan: 'pro' })
    await engine.stop()
  })

  it('sends the welcome email again, with the same key, after a crash before its commit', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const first = createTestEngine({ workflows: [trial], store, clock, engineId: 'app', crashBeforeCommit: 'welcome#1' })
    await first.start()
    await first.trigger(trial, { email: 'jane@example.com' }, { id: 'trial:2' })
    await first.settle()
    expect(first.crashed).toBe(true)
    const second = createTestEngine({ workflows: [trial], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    expect(sent).toEqual(['welcome to jane@example.com [trial:2:welcome#1]', 'welcome to jane@example.com [trial:2:welcome#1]'])
    expect((await second.getRun('trial:2')).status).toBe('waiting')
    await second.stop()
  })
})

describe('createTestEngine(options)', () => {
  it('by default it runs on a fresh memory store whose TTLs follow the virtual clock, from 2030-01-01', async () => {
    const engine = createTestEngine()
    expect(engine.clock.now()).toBe(Date.UTC(2030, 0, 1))
    await engine.kv.set('k', 1, { ttl: '1h' })
    await engine.start()
    await engine.advance('59m')
    expect(await engine.kv.get('k')).toBe(1)
    await engine.advance('1m')
    expect(await engine.kv.get('k')).toBeUndefined()
    await engine.stop()
  })

  it('now sets the start time of a new virtual clock', () => {
    expect(createTestEngine({ now: 1_000 }).clock.now()).toBe(1_000)
  })

  it('crashBeforeCommit takes a step id or a predicate, and the engine dies after the work and before its commit', async () => {
    let worked = 0
    const wf = workflow.create({
      id: 'crash-me',
      async run({ step }) {
        await step.run('work', () => ++worked)
        await step.uuid()
      },
    })
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const byPredicate = createTestEngine({ workflows: [wf], store, clock, crashBeforeCommit: (s) => s.kind === 'uuid' })
    await byPredicate.start()
    const run = await byPredicate.trigger(wf, undefined)
    await byPredicate.settle()
    expect(byPredicate.crashed).toBe(true)
    expect(worked).toBe(1)
    const reader = createTestEngine({ store, clock }) // the crashed engine reads nothing more
    expect((await reader.getRun(run.id)).steps.map((s) => s.id)).toEqual(['work#1'])
  })

  it('the logger is silent and inlineRetry is 0: every retry delay is a durable timer that advance drives', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'retries',
      run: ({ step }) =>
        step.run(
          'flaky',
          () => {
            if (++attempts < 2) throw new Error('once')
            return attempts
          },
          { retry: { retries: 1, minTimeout: 10 } },
        ),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await run.status()).toBe('sleeping')
    await engine.advance(10)
    await expect(run.result()).resolves.toBe(2)
    await engine.stop()
  })
})

describe('The test engine members', () => {
  it('advance moves the clock and runs what became due: sleeps, wait deadlines, retry delays and retention', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'due-things',
      async run({ step }) {
        await step.sleep('1h')
        const none = await step.waitForEvent('never', { timeout: '1h' })
        await step.run(
          'retry',
          () => {
            if (++attempts === 1) throw new Error('once')
          },
          { retry: { retries: 1, minTimeout: 3_600_000 } },
        )
        return none
      },
    })
    const engine = createTestEngine({ workflows: [wf], retention: '1h' })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1h') // the sleep
    expect(await run.status()).toBe('waiting')
    await engine.advance('1h') // the wait deadline, then the first attempt fails
    expect(await run.status()).toBe('sleeping')
    await engine.advance('1h') // the retry delay
    expect(await run.status()).toBe('completed')
    await engine.advance('1h') // retention
    await expect(engine.getRun(run.id)).rejects.toMatchObject({ code: 'ERR_RUN_NOT_FOUND' })
    await engine.stop()
  })

  // Fails until advance() steps the clock from one due time to the next (testing/test-engine.ts): see the report.
  it('advance runs what becomes due on the way, in time order, each at its own time', async () => {
    const wf = workflow.create({
      id: 'on-the-way',
      async run({ step }) {
        const start = await step.now()
        await step.sleep('3d')
        const woke = await step.now()
        await step.sleep('5d')
        return [woke - start, (await step.now()) - start]
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('14d')
    expect(await run.status()).toBe('completed')
    await expect(run.result()).resolves.toEqual([3 * DAY, 8 * DAY])
    await engine.stop()
  })

  it('settle runs everything due now until no run is executing', async () => {
    const wf = workflow.create({
      id: 'settles',
      async run({ step }) {
        for (let i = 0; i < 5; i++) await step.run('s', () => i)
        return 'done'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const runs = await Promise.all([1, 2, 3].map(() => engine.trigger(wf, undefined)))
    await engine.settle()
    for (const r of runs) expect(await r.status()).toBe('completed')
    await engine.stop()
  })

  it('clock.advance moves time and fires the timers set on the clock, without waiting for the runs it wakes', async () => {
    const wf = workflow.create({
      id: 'clock-only',
      async run({ step }) {
        await step.sleep('1h')
        return 'woke'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const woke = nextEvent(engine, 'timer:fire')
    engine.clock.advance(3_600_000)
    expect(engine.clock.now()).toBe(Date.UTC(2030, 0, 1) + 3_600_000)
    await woke
    await expect(run.result()).resolves.toBe('woke')
    await engine.stop()
  })

  it('kill stops the engine at once: nothing more is written, and another engine on the same store and clock goes on', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const hold = gate()
    const wf = workflow.create({
      id: 'killed',
      async run({ step }) {
        await step.run('hold', () => hold.wait)
        return 'done'
      },
    })
    const first = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await first.start()
    const started = nextEvent(first, 'step:start')
    const run = await first.trigger(wf, undefined, { id: 'k' })
    await started
    first.kill()
    expect(first.crashed).toBe(true)
    expect(first.status).toBe('stopped')
    hold.open()
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    await expect(second.handle(run.id, wf.id).result()).resolves.toBe('done')
    expect((await second.getRun('k')).steps.filter((s) => s.id === 'hold#1')).toHaveLength(1)
    await second.stop()
  })
})

describe('Crash injection', () => {
  it('a crash at a later step shows that committed steps never run again', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const ran: string[] = []
    const wf = workflow.create({
      id: 'later-crash',
      async run({ step }) {
        for (const name of ['one', 'two', 'three']) await step.run(name, () => ran.push(name))
      },
    })
    const first = createTestEngine({ workflows: [wf], store, clock, engineId: 'app', crashBeforeCommit: 'three#1' })
    await first.start()
    await first.trigger(wf, undefined, { id: 'lc' })
    await first.settle()
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    expect(ran).toEqual(['one', 'two', 'three', 'three'])
    await second.stop()
  })

  it('with another engineId on SQLite, the run is taken over when its lease expires', async () => {
    const path = sqlitePath()
    const clock = virtualClock()
    const ran: string[] = []
    const wf = workflow.create({ id: 'takeover', run: ({ step }) => step.run('work', () => ran.push('work')) })
    const s1 = sqliteStore({ path })
    const first = createTestEngine({ workflows: [wf], store: s1, clock, engineId: 'a', crashBeforeCommit: 'work#1' })
    await first.start()
    await first.trigger(wf, undefined, { id: 't' })
    await first.settle()
    const s2 = sqliteStore({ path })
    const second = createTestEngine({ workflows: [wf], store: s2, clock, engineId: 'b' })
    await second.start()
    await second.settle()
    expect((await second.getRun('t')).status).toBe('running') // still leased by the dead engine
    await second.advance('5s')
    expect((await second.getRun('t')).status).toBe('completed')
    expect(ran).toEqual(['work', 'work'])
    await second.stop()
    await s1.close?.()
    await s2.close?.()
  })

  it('engine.kill() from an action crashes the engine at that point', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const ran: string[] = []
    let engine = createTestEngine({ store, clock, engineId: 'app' })
    const wf = workflow.create({
      id: 'kill-inside',
      async run({ step }) {
        await step.run('before', () => ran.push('before'))
        await step.run('kill', () => {
          ran.push('kill')
          if (ran.filter((r) => r === 'kill').length === 1) engine.kill()
        })
      },
    })
    engine = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'ki' })
    await engine.settle()
    expect(engine.crashed).toBe(true)
    const next = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await next.start()
    await next.settle()
    expect((await next.getRun('ki')).status).toBe('completed')
    expect(ran).toEqual(['before', 'kill', 'kill'])
    await next.stop()
  })
})

describe('Replacing actions in tests', () => {
  const emailSend = action.create({
    id: 'email.send',
    description: 'Sends an email.',
    input: z.object({ to: z.string().email() }),
    output: z.object({ messageId: z.string() }),
    execute: async () => {
      throw new Error('the real action must not run in tests')
    },
  })
  const onboarding = workflow.create({
    id: 'onboarding',
    input: z.object({ email: z.string() }),
    run: ({ input, step }) => step.run(emailSend, { to: input.email }),
  })
  const mock = (answer: (input: unknown) => unknown) => {
    const calls: unknown[] = []
    const plugin = definePlugin({
      name: 'mock-email',
      setup(ctx) {
        ctx.wrap('action', async (c, next) => {
          if (c.action.id !== 'email.send') return next()
          calls.push({ input: c.input, key: c.idempotencyKey, attempt: c.attempt })
          return answer(c.input)
        })
      },
    })
    return { plugin, calls }
  }

  it('an action wrap answering in the action place runs nothing inside and commits the answer as the step result', async () => {
    const { plugin, calls } = mock(() => ({ messageId: 'mock-1' }))
    const engine = createTestEngine({ workflows: [onboarding], plugins: [plugin] })
    await engine.start()
    const run = await engine.trigger(onboarding, { email: 'jane@example.com' }, { id: 'o1' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ messageId: 'mock-1' })
    expect(calls).toEqual([{ input: { to: 'jane@example.com' }, key: 'o1:email.send#1', attempt: 1 }])
    expect((await engine.getRun(run.id)).steps[0]?.output).toEqual({ messageId: 'mock-1' })
    await engine.stop()
  })

  it('an action wrap sees the input the action input schema accepted: a wrong input fails before the mock runs', async () => {
    const { plugin, calls } = mock(() => ({ messageId: 'mock-1' }))
    const engine = createTestEngine({ workflows: [onboarding], plugins: [plugin] })
    await engine.start()
    const run = await engine.trigger(onboarding, { email: 'not-an-email' })
    await engine.settle()
    expect((await engine.getRun(run.id)).error?.code).toBe('ERR_VALIDATION')
    expect(calls).toEqual([])
    await engine.stop()
  })

  it('a short-circuit answer is checked against the action output schema', async () => {
    const { plugin } = mock(() => ({ id: 'wrong shape' }))
    const engine = createTestEngine({ workflows: [onboarding], plugins: [plugin] })
    await engine.start()
    const run = await engine.trigger(onboarding, { email: 'jane@example.com' })
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.error?.code).toBe('ERR_VALIDATION')
    expect(info.error?.message).toContain('output of action "email.send"')
    await engine.stop()
  })
})

describe('Testing an action alone', () => {
  const parseAmount = action.create({
    id: 'parse-amount',
    description: 'Parses an amount like "12.50 EUR".',
    input: z.object({ text: z.string() }),
    execute: ({ text }) => {
      const m = /^(\d+)\.(\d{2}) ([A-Z]{3})$/.exec(text)
      if (!m) throw new NonRetryableError(`not an amount: ${text}`)
      return { cents: Number(m[1]) * 100 + Number(m[2]), currency: m[3] as string }
    },
  })

  it('parses amounts and refuses the rest without retrying', async () => {
    await expect(parseAmount.execute({ text: '12.50 EUR' })).resolves.toEqual({ cents: 1250, currency: 'EUR' })
    await expect(parseAmount.execute({ text: 'twelve' })).rejects.toMatchObject({ code: 'ERR_NON_RETRYABLE' })
    await expect(parseAmount.execute({ text: 12 } as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
  })

  it('execute with retry false makes a single attempt', async () => {
    let attempts = 0
    const flaky = action.create({
      id: 'flaky',
      description: 'Always fails.',
      retry: { retries: 5, minTimeout: 60_000 },
      execute: async () => {
        attempts++
        throw new Error('down')
      },
    })
    await expect(flaky.execute(undefined, { retry: false })).rejects.toThrow('down')
    expect(attempts).toBe(1)
  })
})

describe('The Datastore conformance suite', () => {
  it('datastoreConformance registers one test per rule with the runner given, and skip turns groups off', () => {
    const collect = (skip?: { ttl?: boolean; nulKeys?: boolean; largeValues?: boolean }, more: object = {}) => {
      const names: string[] = []
      const path: string[] = []
      datastoreConformance(
        {
          describe: (name, fn) => {
            path.push(name)
            fn()
            path.pop()
          },
          it: (name) => {
            names.push([...path, name].join(' > '))
          },
        },
        () => memoryStore(),
        { name: 'memory', skip, ...more },
      )
      return names
    }
    const all = collect()
    const withoutTtl = collect({ ttl: true })
    expect(all.length).toBeGreaterThan(30)
    expect(all.every((n) => n.startsWith('memory > '))).toBe(true)
    expect(withoutTtl.length).toBeLessThan(all.length)
    expect(all.filter((n) => !withoutTtl.includes(n)).every((n) => /ttl|expir/i.test(n))).toBe(true)
    expect(collect({ nulKeys: true, largeValues: true }).length).toBeLessThan(all.length)
    // The hooks switch more groups on.
    const reopen = (s: ReturnType<typeof memoryStore>) => s
    const breakStore = () => {}
    expect(collect(undefined, { reopen }).length).toBeGreaterThan(all.length)
    expect(collect(undefined, { breakStore }).length).toBeGreaterThan(all.length)
  })
})

describe('Rules and edge cases', () => {
  it('trigger and signal resolve once stored, without waiting for the run', async () => {
    const hold = gate()
    const wf = workflow.create({
      id: 'slow-start',
      async run({ step }) {
        await step.run('hold', () => hold.wait)
        return step.waitForEvent('go')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    expect(await engine.signal(run.id, 'go', 1)).toBe(true) // the run is still in its first step
    expect((await engine.getRun(run.id)).steps).toEqual([])
    hold.open()
    await engine.settle()
    await expect(run.result()).resolves.toBe(1)
    await engine.stop()
  })

  it('run.result() waits until the virtual clock is advanced past what the run waits for', async () => {
    const wf = workflow.create({
      id: 'waits-for-time',
      async run({ step }) {
        await step.sleep('1d')
        return 'done'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    let settled = false
    const result = run.result().finally(() => {
      settled = true
    })
    await engine.settle()
    await engine.settle()
    expect(settled).toBe(false)
    await engine.advance('1d')
    await expect(result).resolves.toBe('done')
    await engine.stop()
  })

  it('each test engine gets its own store by default', async () => {
    const wf = workflow.create({ id: 'own', run: async () => 1 })
    const a = createTestEngine({ workflows: [wf] })
    const b = createTestEngine({ workflows: [wf] })
    await a.start()
    await a.trigger(wf, undefined)
    await a.settle()
    expect((await a.listRuns()).runs).toHaveLength(1)
    expect((await b.listRuns()).runs).toHaveLength(0)
    await a.stop()
  })

  it('the test engine runs on SQLite, whose ttl values expire on real time, not on the virtual clock', async () => {
    const store = sqliteStore({ path: sqlitePath() })
    const wf = workflow.create({
      id: 'on-sqlite',
      async run({ step }) {
        await step.store.set('session', 'abc', { ttl: '1h' })
        await step.sleep('1d')
        return step.store.get('session')
      },
    })
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1d')
    // A day of virtual time later: the value lives on, its expiry (2030) is far ahead of real time.
    await expect(run.result()).resolves.toBe('abc')
    await engine.stop()
    await store.close?.()
  })

  it('an attempt timeout runs on the virtual clock: clock.advance fires it', async () => {
    const running = gate()
    const slow = action.create({
      id: 'slow',
      description: 'Answers when aborted.',
      timeout: '1s',
      retry: false,
      execute: (_: undefined, { signal }) => {
        running.open()
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      },
    })
    const wf = workflow.create({ id: 'times-out', run: ({ step }) => step.run(slow, undefined) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await running.wait // settle() would wait for this attempt, which waits for the clock
    engine.clock.advance(1_000) // fires the attempt's timeout
    await expect(run.result()).rejects.toMatchObject({ cause: expect.objectContaining({ code: 'ERR_TIMEOUT' }) })
    await engine.stop()
  })

  it('a killed engine is stopped and needs no stop', async () => {
    const engine = createTestEngine()
    await engine.start()
    engine.kill()
    expect(engine.status).toBe('stopped')
    await engine.stop() // harmless
  })
})
