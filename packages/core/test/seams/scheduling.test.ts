// Issue #13, items 6, 9 and 10: the due index, concurrency, and timers.
import { describe, expect, it } from 'vitest'
import { action, createEngine, type Datastore, memoryStore, silentLogger, workflow } from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'

describe('6. the due index', () => {
  it('signals that arrive while the run executes elsewhere cost at most one replay, not one each', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const wf = workflow.create({
      id: 'collector',
      async run({ step }) {
        await step.run('work', () => gate)
        const got: unknown[] = []
        for (let i = 0; i < 5; i++) got.push(await step.waitForEvent('tick'))
        await step.sleep('1m')
        return got.length
      },
    })
    const runner = createTestEngine({ workflows: [wf], store, clock, engineId: 'runner' })
    const sender = createTestEngine({ workflows: [wf], store, clock, engineId: 'sender' })
    let resumes = 0
    runner.hooks.on('workflow:resume', () => {
      resumes++
    })
    await runner.start()
    const run = await runner.trigger(wf, undefined)
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    for (let i = 0; i < 5; i++) await sender.signal(run.id, 'tick', { i }) // another engine: not the owner
    release()
    await runner.settle()
    await runner.advance('1m')
    await expect(run.result()).resolves.toBe(5)
    expect(resumes).toBe(1) // the sleep's wake-up: the signals were read by the running execution itself
    await runner.stop()
  })

  it('a pass goes past runs it cannot take: a timer due behind 200 signalled busy runs still fires', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const busy = workflow.create({ id: 'busy', run: async ({ step }) => step.run('hold', () => gate) })
    const sleeper = workflow.create({
      id: 'sleeper',
      async run({ step }) {
        await step.sleep('1s')
        return 'woke'
      },
    })
    const engine = createTestEngine({ workflows: [busy, sleeper], concurrency: 300 })
    await engine.start()
    const held = []
    for (let i = 0; i < 200; i++) held.push(await engine.trigger(busy, undefined, { id: `busy-${String(i).padStart(3, '0')}` }))
    const late = await engine.trigger(sleeper, undefined, { id: 'zzz-sleeper' })
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    // Every busy run gets a signal it never waits for, before the timer is due.
    for (const run of held) await engine.signal(run.id, 'poke', {})
    engine.clock.advance(1_000)
    await engine.tick()
    await expect(late.result()).resolves.toBe('woke')
    release()
    await engine.settle()
    await engine.stop()
  })

  it('an engine without a run’s version leaves it due for an engine that has it (rolling deploy)', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const v1 = workflow.create({ id: 'deploy', version: '1', run: async () => 'v1' })
    const v2 = workflow.create({ id: 'deploy', version: '2', run: async () => 'v2' })
    const oldEngine = createTestEngine({ workflows: [v1], store, clock, engineId: 'old' })
    const newEngine = createTestEngine({ workflows: [v1, v2], store, clock, engineId: 'new' })
    await oldEngine.start()
    const run = await newEngine.trigger(v2, undefined, { id: 'v2-run' }) // pending: `new` is not started yet
    await oldEngine.settle() // the old engine sees it and cannot run it
    await newEngine.start()
    await newEngine.settle() // no clock movement: it must be due right now
    await expect(run.result()).resolves.toBe('v2')
    await oldEngine.stop()
    await newEngine.stop()
  })
})

describe('9. concurrency', () => {
  it('with concurrency: 10, 500 triggers at once never run more than 10 executions at a time', async () => {
    let now = 0
    let max = 0
    const wf = workflow.create({
      id: 'bounded',
      async run({ step }) {
        return step.run('work', async () => {
          max = Math.max(max, ++now)
          for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
          now--
          return 1
        })
      },
    })
    const engine = createEngine({ store: memoryStore(), workflows: [wf], concurrency: 10, logger: silentLogger, pollInterval: '20ms' })
    await engine.start()
    const runs = await Promise.all(Array.from({ length: 500 }, () => engine.trigger(wf, undefined)))
    const results = await Promise.all(runs.map((r) => r.result()))
    expect(results).toHaveLength(500)
    expect(max).toBeLessThanOrEqual(10)
    expect(max).toBeGreaterThan(1)
    await engine.stop()
  })
})

describe('10. timers', () => {
  it('a step or action timeout of 30 days does not fire early (setTimeout overflow)', async () => {
    const slowAction = action.create({
      id: 'slow-action',
      description: 'Takes a moment.',
      timeout: '30d',
      execute: () => new Promise((r) => setTimeout(() => r('action ok'), 20)),
    })
    const wf = workflow.create({
      id: 'long-timeouts',
      async run({ step }) {
        const a = await step.run('slow-fn', () => new Promise((r) => setTimeout(() => r('fn ok'), 20)), { timeout: '30d' })
        const b = await step.run(slowAction, {})
        return [a, b]
      },
    })
    const engine = createEngine({ store: memoryStore(), workflows: [wf], logger: silentLogger })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await expect(run.result()).resolves.toEqual(['fn ok', 'action ok'])
    await engine.stop()
  })

  it('a sleep past year 2286 (14000 weeks) wakes once, on time', async () => {
    const wf = workflow.create({
      id: 'very-long',
      async run({ step }) {
        await step.sleep('14000w')
        return 'woke'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).wakeAt).toBe(engine.clock.now() + 14_000 * 604_800_000)
    await engine.advance('13999w')
    expect((await engine.getRun(run.id)).status).toBe('sleeping')
    await engine.advance('1w')
    await expect(run.result()).resolves.toBe('woke')
    await engine.stop()
  })

  it('engines sharing a store with a clock of its own go by the store clock (signal order, timers, leases)', async () => {
    const inner = memoryStore()
    const ahead = 3_600_000
    const store: Datastore = {
      ...inner,
      capabilities: { ...inner.capabilities, multiProcess: true },
      now: async () => Date.now() + ahead,
    }
    const wf = workflow.create({ id: 'what-time', run: async ({ step }) => step.now() })
    const engine = createEngine({ store, workflows: [wf], logger: silentLogger })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    const t = await run.result()
    expect(Math.abs(t - (Date.now() + ahead))).toBeLessThan(60_000)
    await engine.stop()
  })
})

describe('concurrency slots across engines', () => {
  it('a slot let go in one engine wakes a run waiting for it in another at once, through the store pub/sub (the clock stands still)', async () => {
    const clock = virtualClock()
    const inner = memoryStore({ now: clock.now })
    const subscribers = new Map<string, Set<(message: string) => void>>()
    // The memory store with the two capabilities of a shared store: several engines, and pub/sub between them.
    const store: Datastore = {
      ...inner,
      capabilities: { ...inner.capabilities, multiProcess: true, pubsub: true },
      async publish(channel, message) {
        for (const on of subscribers.get(channel) ?? []) on(message)
      },
      async subscribe(channel, on) {
        const set = subscribers.get(channel) ?? new Set()
        set.add(on)
        subscribers.set(channel, set)
        return async () => {
          set.delete(on)
        }
      },
    }
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    // Two versions of one workflow share its concurrency key; each engine has one, so the waiting run
    // (version 2) can only be started by the other engine.
    const define = (version: string) =>
      workflow.create({
        id: 'exports',
        version,
        concurrency: { key: () => 'tenant-1', limit: 1 },
        run: async ({ step }) => step.run('export', () => (version === '1' ? gate.then(() => version) : version)),
      })
    const v1 = define('1')
    const v2 = define('2')
    const first = createTestEngine({ workflows: [v1], store, clock, engineId: 'first', logger: silentLogger })
    const second = createTestEngine({ workflows: [v2], store, clock, engineId: 'second', logger: silentLogger })
    const holder = await first.trigger(v1, undefined, { id: 'holder' })
    const waiter = await second.trigger(v2, undefined, { id: 'waiter' })
    await first.start()
    await second.start()
    await first.tick()
    await second.tick()
    expect((await second.getRun('waiter')).pendingReason).toMatchObject({ kind: 'concurrency', key: 'tenant-1' })
    const before = clock.now()
    release()
    await expect(holder.result()).resolves.toBe('1')
    await expect(waiter.result()).resolves.toBe('2')
    expect(clock.now()).toBe(before)
    await first.stop()
    await second.stop()
  })
})
