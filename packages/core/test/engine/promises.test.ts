import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { virtualClock } from '../../src/engine/clock.js'
import { action, CapabilityError, type DoSdkError, memoryStore, RetryAfterError, ValidationError, workflow } from '../../src/index.js'
import { jane, makeOnboarding, newStore, testEngine } from './fixtures.js'

const shared = () => {
  const clock = virtualClock()
  return { clock, store: newStore(clock) }
}

describe('1. exactly-once commit', () => {
  it('re-attempts an action that returned but was not committed, once, with the same idempotency key', async () => {
    const { calls, onboarding } = makeOnboarding()
    const { clock, store } = shared()
    const first = testEngine({ workflows: [onboarding], store, clock, crashBeforeCommit: 'send-welcome-email#1' })
    await first.start()
    const run = await first.trigger(onboarding, jane, { id: 'onboarding:usr_1' })
    await first.settle()
    expect(first.crashed).toBe(true)
    expect(calls.email).toHaveLength(1)
    expect((await first.getRun(run.id).catch(() => null))?.steps ?? []).toEqual([])

    const second = testEngine({ workflows: [onboarding], store, clock })
    await second.start()
    await second.settle()
    expect(calls.email).toEqual([
      { key: 'onboarding:usr_1:send-welcome-email#1', attempt: 1 },
      { key: 'onboarding:usr_1:send-welcome-email#1', attempt: 1 },
    ])
    const info = await second.getRun(run.id)
    expect(info.status).toBe('waiting')
    expect(info.steps.map((s) => s.id)).toEqual(['send-welcome-email#1', 'setState#1', 'wait:email.clicked#1'])
    await second.stop()
  })

  it('never re-runs a committed step when the crash comes later', async () => {
    const { calls, onboarding } = makeOnboarding()
    const { clock, store } = shared()
    const first = testEngine({ workflows: [onboarding], store, clock, crashBeforeCommit: 'create-profile#1' })
    await first.start()
    const run = await first.trigger(onboarding, jane)
    await first.settle()
    await first.signal(run.id, 'email.clicked', {})
    await first.settle()
    await first.advance('1h')
    expect(first.crashed).toBe(true)
    expect(calls.profile).toBe(1)
    const second = testEngine({ workflows: [onboarding], store, clock })
    await second.start()
    await second.settle()
    expect((await second.getRun(run.id)).status).toBe('completed')
    expect(calls.email).toHaveLength(1)
    expect(calls.profile).toBe(2)
    await second.stop()
  })
})

describe('2. no torn state', () => {
  it('a crash before a setState commit leaves neither the step nor the state', async () => {
    const { onboarding } = makeOnboarding()
    const { clock, store } = shared()
    const first = testEngine({ workflows: [onboarding], store, clock, crashBeforeCommit: 'setState#1' })
    await first.start()
    const run = await first.trigger(onboarding, jane)
    await first.settle()
    const reader = testEngine({ workflows: [onboarding], store, clock })
    const info = await reader.getRun(run.id)
    expect(info.state).toMatchObject({ status: 'registered', welcomeEmailSent: false })
    expect(info.steps.map((s) => s.id)).toEqual(['send-welcome-email#1'])
    expect(info.currentStep).toBe('send-welcome-email#1')
    await reader.start()
    await reader.settle()
    const after = await reader.getRun(run.id)
    expect(after.state).toMatchObject({ status: 'email_sent', welcomeEmailSent: true })
    expect(after.status).toBe('waiting')
    await reader.stop()
  })
})

describe('3. durable time and events', () => {
  it('keeps signals sent before the wait and delivers them in order', async () => {
    const wf = workflow.create({
      id: 'collector',
      async run({ step }) {
        await step.sleep('1m')
        const got: unknown[] = []
        for (let i = 0; i < 3; i++) got.push(await step.waitForEvent('item'))
        return got
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    for (const n of [1, 2, 3]) await engine.signal(run.id, 'item', { n })
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('sleeping')
    await engine.advance('1m')
    await expect(run.result()).resolves.toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    await engine.stop()
  })

  it('fires a 30-day timer once, across a restart, even when its time passed while no engine ran', async () => {
    const wf = workflow.create({
      id: 'long-sleep',
      async run({ step }) {
        const before = await step.now()
        await step.sleep('30d')
        return (await step.now()) - before
      },
    })
    const { clock, store } = shared()
    const first = testEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    await first.advance('29d')
    expect((await first.getRun(run.id)).status).toBe('sleeping')
    first.kill()
    clock.advance(5 * 86_400_000)
    const second = testEngine({ workflows: [wf], store, clock })
    const fired: number[] = []
    second.hooks.on('timer:fire', (e) => {
      fired.push(e.lateMs)
    })
    await second.start()
    await second.settle()
    expect(await run.result().catch(() => second.getRun(run.id).then((r) => r.output))).toBe(34 * 86_400_000)
    expect(fired).toEqual([4 * 86_400_000])
    await second.advance('1d')
    expect(fired).toHaveLength(1)
    await second.stop()
  })

  it('does not let a real 30-day timer fire early (setTimeout overflow)', async () => {
    const { systemClock } = await import('../../src/engine/clock.js')
    let fired = false
    const cancel = systemClock.setTimer(() => {
      fired = true
    }, 30 * 86_400_000)
    await new Promise((r) => setTimeout(r, 50))
    cancel()
    expect(fired).toBe(false)
  })
})

describe('4. deterministic replay', () => {
  const build = (stepName: string) =>
    workflow.create({
      id: 'renamable',
      async run({ step }) {
        await step.run(stepName, () => 'a')
        await step.waitForEvent('go')
        await step.run('after', () => 'b')
        return 'done'
      },
    })

  it('stops a run whose journal no longer fits the code with a NonDeterminismError naming the step', async () => {
    const { clock, store } = shared()
    const first = testEngine({ workflows: [build('fetch-user')], store, clock })
    await first.start()
    const run = await first.trigger(build('fetch-user'), undefined, { id: 'r1' })
    await first.settle()
    await first.stop()
    const renamed = build('load-user')
    const second = testEngine({ workflows: [renamed], store, clock })
    await second.start()
    await second.signal(run.id, 'go')
    await second.settle()
    const info = await second.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_NON_DETERMINISM')
    expect(info.error?.message).toMatch(/"load-user#1".*"fetch-user#1"/)
    await expect(second.handle(run.id, 'renamable').result()).rejects.toMatchObject({
      cause: expect.objectContaining({ name: 'NonDeterminismError' }),
    })
    await second.stop()
  })

  it('pins in-flight runs to the version they started on', async () => {
    const mk = (version: string) =>
      workflow.create({
        id: 'versioned',
        version,
        async run({ step }) {
          await step.waitForEvent('go')
          return version
        },
      })
    const v1 = mk('1')
    const v2 = mk('2')
    const { clock, store } = shared()
    const first = testEngine({ workflows: [v1], store, clock })
    await first.start()
    const old = await first.trigger(v1, undefined)
    await first.settle()
    await first.stop()
    const second = testEngine({ workflows: [v1, v2], store, clock })
    await second.start()
    const fresh = await second.trigger(v2, undefined)
    await second.signal(old.id, 'go')
    await second.signal(fresh.id, 'go')
    await second.settle()
    await expect(second.handle(old.id, 'versioned').result()).resolves.toBe('1')
    await expect(fresh.result()).resolves.toBe('2')
    await second.stop()
  })

  it('replays Promise.all over steps deterministically, whatever order they finished in', async () => {
    const seen: string[] = []
    const wf = workflow.create({
      id: 'parallel',
      async run({ step }) {
        const [a, b, c] = await Promise.all([
          step.run('a', async () => {
            await new Promise((r) => setTimeout(r, 15))
            seen.push('a')
            return 'A'
          }),
          step.run('b', async () => {
            seen.push('b')
            return 'B'
          }),
          step.run('c', async () => {
            await new Promise((r) => setTimeout(r, 5))
            seen.push('c')
            return 'C'
          }),
        ])
        await step.waitForEvent('go')
        return a + b + c
      },
    })
    const { clock, store } = shared()
    const first = testEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    expect(seen).toEqual(['b', 'c', 'a'])
    await first.stop()
    const second = testEngine({ workflows: [wf], store, clock })
    await second.start()
    await second.signal(run.id, 'go')
    await second.settle()
    await expect(run.result().catch(() => second.getRun(run.id).then((r) => r.output))).resolves.toBe('ABC')
    expect(seen).toEqual(['b', 'c', 'a'])
    await second.stop()
  })
})

describe('5. bad input is refused, nothing lost', () => {
  it('refuses an invalid trigger with the zod issues and writes nothing', async () => {
    const { onboarding } = makeOnboarding()
    const store = newStore()
    const engine = testEngine({ workflows: [onboarding], store })
    await engine.start()
    const err = await engine.trigger(onboarding, { userId: 1 } as never).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as ValidationError).issues.map((i) => i.path[0]).sort()).toEqual(['email', 'name', 'userId'])
    expect(await store.list('run/')).toEqual([])
    expect(await store.list('due/')).toEqual([])
    await engine.stop()
  })

  it('fails a step with bad action input without calling the action', async () => {
    let called = 0
    const strict = action.create({
      id: 'strict',
      description: 'Needs a number.',
      input: z.object({ n: z.number() }),
      execute: () => {
        called++
        return 1
      },
    })
    const wf = workflow.create({
      id: 'bad-step-input',
      async run({ step }) {
        try {
          await step.run(strict, { n: 'x' } as never)
        } catch (e) {
          return { caught: (e as Error).name, code: (e as DoSdkError).code }
        }
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ caught: 'ValidationError', code: 'ERR_VALIDATION' })
    expect(called).toBe(0)
    await engine.stop()
  })

  it('fails a run whose record is corrupt, and every other run goes on', async () => {
    const { onboarding } = makeOnboarding()
    const store = newStore()
    const engine = testEngine({ workflows: [onboarding], store })
    await engine.start()
    const good = await engine.trigger(onboarding, jane, { id: 'good' })
    const bad = await engine.trigger(onboarding, { ...jane, userId: 'u2' }, { id: 'bad' })
    await engine.settle()
    const rec = await store.get('run/bad')
    await store.batch([{ op: 'set', key: 'run/bad', value: '{"f":1,"id":"bad",' }])
    expect(rec).toBeDefined()
    await store.batch([{ op: 'set', key: 'due/0000000000000000/bad', value: 'run' }])
    await engine.signal(good.id, 'email.clicked', {})
    await engine.settle()
    await engine.advance('1h')
    expect((await engine.getRun('good')).status).toBe('completed')
    const info = await engine.getRun(bad.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_CORRUPT_RECORD')
    expect(info.error?.message).toMatch(/run\/bad/)
    await engine.stop()
  })
})

describe('6. idempotent triggers', () => {
  it('returns the existing run for an existing id, and runs it once', async () => {
    const { calls, onboarding } = makeOnboarding()
    const engine = testEngine({ workflows: [onboarding] })
    await engine.start()
    const a = await engine.trigger(onboarding, jane, { id: 'onboarding:same' })
    const b = await engine.trigger(onboarding, { ...jane, name: 'Other' }, { id: 'onboarding:same' })
    await engine.settle()
    expect(b.id).toBe(a.id)
    expect(calls.email).toHaveLength(1)
    expect((await engine.getRun(a.id)).input).toEqual(jane)
    await engine.stop()
  })
})

describe('7. store outages pause, not lose', () => {
  it('pauses runs while the store fails and finishes them when it returns, repeating no step', async () => {
    const clock = virtualClock()
    const inner = newStore(clock)
    let down = false
    const flaky = {
      ...inner,
      name: 'flaky',
      get: (k: string) => (down ? Promise.reject(new Error('ECONNREFUSED')) : inner.get(k)),
      list: (p: string, o?: object) => (down ? Promise.reject(new Error('ECONNREFUSED')) : inner.list(p, o)),
      batch: (ops: Parameters<typeof inner.batch>[0]) => (down ? Promise.reject(new Error('ECONNREFUSED')) : inner.batch(ops)),
    }
    let runs = 0
    const wf = workflow.create({
      id: 'outage',
      async run({ step }) {
        const a = await step.run('one', () => ++runs)
        await step.sleep('1m')
        const b = await step.run('two', () => ++runs)
        return [a, b]
      },
    })
    const engine = testEngine({ workflows: [wf], store: flaky, clock })
    const errors: string[] = []
    engine.hooks.on('error', (e) => {
      errors.push(e.source)
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    down = true
    await engine.advance('1m')
    await engine.advance('1m')
    expect(errors.length).toBeGreaterThan(0)
    down = false
    await engine.advance('10s')
    expect(await run.result()).toEqual([1, 2])
    expect(runs).toBe(2)
    await engine.stop()
  })
})

describe('8. many processes need a store that supports it', () => {
  it('refuses multiProcess on a single-process store, saying what to use', () => {
    expect(() => testEngine({ store: memoryStore(), multiProcess: true })).toThrow(CapabilityError)
    expect(() => testEngine({ store: memoryStore(), multiProcess: true })).toThrowError(/sqliteStore.*redisStore/)
  })
})

describe('retries owned by the engine', () => {
  it('turns a long RetryAfterError into a durable timer that survives a restart, with the attempt count', async () => {
    const attempts: number[] = []
    const limited = action.create({
      id: 'rate-limited',
      description: 'Asks to come back in an hour once.',
      retry: { retries: 3, minTimeout: 10 },
      execute: (_: unknown, { attempt }) => {
        attempts.push(attempt)
        if (attempt === 1) throw new RetryAfterError('429', 3_600_000)
        return 'ok'
      },
    })
    const wf = workflow.create({ id: 'retry-after', run: async ({ step }) => step.run(limited, {}) })
    const { clock, store } = shared()
    const first = testEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    const info = await first.getRun(run.id)
    expect(info.status).toBe('sleeping')
    expect(info.steps[0]).toMatchObject({ id: 'rate-limited#1', status: 'retrying', attempts: 1, until: clock.now() + 3_600_000 })
    first.kill()
    const second = testEngine({ workflows: [wf], store, clock })
    await second.start()
    await second.advance('59m')
    expect(attempts).toEqual([1])
    await second.advance('1m')
    expect(attempts).toEqual([1, 2])
    expect((await second.getRun(run.id)).status).toBe('completed')
    await second.stop()
  })
})
