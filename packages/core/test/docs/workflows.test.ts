// docs/guides/workflows.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  action,
  CancelledError,
  createEngine,
  definePlugin,
  memoryStore,
  RunFailedError,
  RunNotFoundError,
  silentLogger,
  workflow,
} from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { captureLogger, gate, nextEvent } from './helpers.js'

const reserveStock = action.create({
  id: 'reserve-stock',
  description: 'Reserves stock for one order line.',
  input: z.object({ sku: z.string(), qty: z.number().int().positive() }),
  execute: async ({ sku, qty }) => ({ sku, reserved: qty }),
})
const shipOrder = workflow.create({
  id: 'ship-order',
  input: z.object({ orderId: z.string() }),
  async run({ input, step }) {
    const label = await step.run('print-label', () => `label-${input.orderId}`)
    return { trackingId: `${label}-${await step.uuid()}` }
  },
})
const checkout = workflow.create({
  id: 'checkout',
  input: z.object({ orderId: z.string(), lines: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })) }),
  output: z.object({ trackingId: z.string(), placedAt: z.number() }),
  async run({ input, step }) {
    await Promise.all(input.lines.map((line) => step.run(reserveStock, line)))
    const placedAt = await step.now()
    const { trackingId } = await step.invoke(shipOrder, { orderId: input.orderId })
    return { trackingId, placedAt }
  },
})

describe('Example', () => {
  it('the checkout example: parallel reservations, a recorded time and a child workflow', async () => {
    const engine = createTestEngine({ workflows: [checkout, shipOrder] })
    await engine.start()
    const run = await engine.trigger(checkout, { orderId: 'ord_1', lines: [{ sku: 'tea', qty: 2 }] }, { id: 'checkout:ord_1' })
    await engine.settle()
    const { trackingId, placedAt } = await run.result()
    expect(trackingId).toMatch(/^label-ord_1-[0-9a-f-]{36}$/)
    expect(placedAt).toBe(engine.clock.now())
    expect((await engine.getRun(run.id)).steps.map((s) => s.id)).toEqual(['reserve-stock#1', 'now#1', 'invoke:ship-order#1'])
    await engine.stop()
  })
})

describe('workflow.create(config)', () => {
  it('a workflow id follows the id rule', () => {
    const make = (id: string) => () => workflow.create({ id, run: async () => 1 })
    for (const bad of ['', '-starts-with-dash', 'has space', 'x'.repeat(256)])
      expect(make(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(make('a.b_c-d:e@f/g#h+i=j')).not.toThrow()
    expect(make('x'.repeat(255))).not.toThrow()
  })

  it('version defaults to 1 and may be a string or a number', () => {
    expect(workflow.create({ id: 'v', run: async () => 1 }).version).toBe('1')
    expect(workflow.create({ id: 'v', version: 2, run: async () => 1 }).version).toBe('2')
    expect(workflow.create({ id: 'v', version: '2024-06', run: async () => 1 }).version).toBe('2024-06')
  })

  it('input is checked by engine.trigger and by step.invoke for a child', async () => {
    const child = workflow.create({ id: 'child', input: z.object({ n: z.number() }), run: async ({ input }) => input.n })
    const parent = workflow.create({ id: 'parent', run: ({ step }) => step.invoke(child, { n: 'one' } as never) })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    await expect(engine.trigger(child, { n: 'one' } as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    const run = await engine.trigger(parent, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).error?.code).toBe('ERR_VALIDATION')
    await engine.stop()
  })

  it('run receives the input, state, step, ids, version, an abort signal and the logger', async () => {
    const { logger, at } = captureLogger()
    let seen: Record<string, unknown> = {}
    const wf = workflow.create({
      id: 'context',
      version: 3,
      input: z.object({ n: z.number().default(1) }),
      initialState: () => ({ s: 1 }),
      async run(ctx) {
        ctx.log.info('hello from run')
        seen = {
          input: ctx.input,
          state: { ...ctx.state },
          step: typeof ctx.step.run,
          runId: ctx.runId,
          workflowId: ctx.workflowId,
          version: ctx.version,
          signal: ctx.signal instanceof AbortSignal && !ctx.signal.aborted,
        }
      },
    })
    const engine = createTestEngine({ workflows: [wf], logger })
    await engine.start()
    await engine.trigger(wf, {}, { id: 'ctx-1' })
    await engine.settle()
    expect(seen).toEqual({
      input: { n: 1 },
      state: { s: 1 },
      step: 'function',
      runId: 'ctx-1',
      workflowId: 'context',
      version: '3',
      signal: true,
    })
    expect(at('info')).toEqual(['hello from run'])
    await engine.stop()
  })

  it('the run signal is aborted when the run is cancelled', async () => {
    let signal: AbortSignal | undefined
    const live = workflow.create({
      id: 'live',
      async run(ctx) {
        signal = ctx.signal
        await ctx.step.run('hold', () => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)))
      },
    })
    const engine = createTestEngine({ workflows: [live] })
    await engine.start()
    const started = nextEvent(engine, 'step:start')
    const run = await engine.trigger(live, undefined)
    await started
    expect(signal?.aborted).toBe(false)
    await engine.cancel(run.id)
    expect(signal?.aborted).toBe(true)
    await expect(run.result()).rejects.toBeInstanceOf(CancelledError)
    await engine.stop()
  })
})

describe('The step API', () => {
  it('each step call gets its documented id', async () => {
    const act = action.create({ id: 'notify', description: 'Notifies.', execute: async () => 1 })
    const child = workflow.create({ id: 'child', run: async () => 1 })
    const wf = workflow.create({
      id: 'all-steps',
      async run({ step }) {
        await step.run(act, undefined)
        await step.run(act, undefined, { id: 'custom' })
        await step.run('mine', () => 1)
        await step.sleep(1)
        await step.sleepUntil(0)
        await step.waitForEvent('go', { timeout: 1 })
        await step.setState({ a: 1 })
        await step.invoke(child, undefined)
        await step.now()
        await step.uuid()
        await step.store.get('k')
        await step.store.set('k', 1)
        await step.store.delete('k')
        await step.run(act, undefined)
      },
    })
    const engine = createTestEngine({ workflows: [wf, child] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance(1)
    await engine.advance(1)
    expect((await engine.getRun(run.id)).steps.map((s) => s.id)).toEqual([
      'notify#1',
      'custom#1',
      'mine#1',
      'sleep#1',
      'sleep#2',
      'wait:go#1',
      'setState#1',
      'invoke:child#1',
      'now#1',
      'uuid#1',
      'store.get:k#1',
      'store.set:k#1',
      'store.delete:k#1',
      'notify#2',
    ])
    await engine.stop()
  })

  it('a function step gets signal, attempt and idempotencyKey', async () => {
    const wf = workflow.create({
      id: 'fn-context',
      run: ({ step }) =>
        step.run('inspect', ({ signal, attempt, idempotencyKey }) => ({ signal: signal instanceof AbortSignal, attempt, idempotencyKey })),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'f1' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ signal: true, attempt: 1, idempotencyKey: 'f1:inspect#1' })
    await engine.stop()
  })

  it('a sleep may last months, and sleeps may last until year 275760', async () => {
    const wf = workflow.create({
      id: 'long-sleeps',
      async run({ step }) {
        const refused = await step.sleepUntil(8.64e15 + 1).catch((e: { code?: string }) => e.code)
        await step.sleep('26w')
        await step.sleepUntil(new Date(8.64e15))
        return refused
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('26w')
    const info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'sleeping', wakeAt: 8.64e15 })
    expect(new Date(info.wakeAt as number).getUTCFullYear()).toBe(275760)
    engine.clock.set(8.64e15)
    await engine.settle()
    await expect(run.result()).resolves.toBe('ERR_INVALID_ARGUMENT')
    await engine.stop()
  })

  it('sleepUntil a moment in the past returns at once', async () => {
    const wf = workflow.create({
      id: 'past',
      async run({ step }) {
        await step.sleepUntil(new Date(0))
        return 'went on'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe('went on')
    await engine.stop()
  })

  it('now and uuid are recorded: a replay sees the same values', async () => {
    const passes: unknown[] = []
    const wf = workflow.create({
      id: 'recorded',
      async run({ step }) {
        passes.push([await step.now(), await step.uuid()])
        await step.sleep('1h')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1h')
    expect(passes).toHaveLength(2)
    expect(passes[1]).toEqual(passes[0])
    await engine.stop()
  })

  it('Promise.all over steps runs them in parallel', async () => {
    const started: string[] = []
    const both = gate()
    const wf = workflow.create({
      id: 'parallel',
      run: ({ step }) =>
        Promise.all(
          ['a', 'b'].map((name) =>
            step.run(name, async () => {
              started.push(name)
              if (started.length === 2) both.open()
              await both.wait // finishes only once both have started
              return name
            }),
          ),
        ),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual(['a', 'b'])
    await engine.stop()
  })
})

describe('Child workflows', () => {
  it('a child run has the id <parent run id>/<step id>, and a replay finds that same run', async () => {
    let childRuns = 0
    const child = workflow.create({
      id: 'ship-order',
      async run() {
        childRuns++
        return 'shipped'
      },
    })
    const parent = workflow.create({
      id: 'checkout',
      async run({ step }) {
        const out = await step.invoke(child, undefined)
        await step.sleep('1h')
        return out
      },
    })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined, { id: 'checkout:ord_1' })
    await engine.settle()
    await engine.advance('1h')
    await expect(run.result()).resolves.toBe('shipped')
    const info = await engine.getRun('checkout:ord_1/invoke:ship-order#1')
    expect(info).toMatchObject({ status: 'completed', parentId: 'checkout:ord_1' })
    expect(childRuns).toBe(1)
    expect((await engine.listRuns({ workflowId: 'ship-order' })).runs).toHaveLength(1)
    await engine.stop()
  })

  it('the parent waits for the child, then gets its output or throws its error', async () => {
    const child = workflow.create({
      id: 'child',
      async run({ input, step }) {
        await step.sleep('1h')
        if (input === 'fail') throw new Error('child broke')
        return `out:${input}`
      },
    })
    const parent = workflow.create({
      id: 'parent',
      async run({ input, step }) {
        try {
          return await step.invoke(child, input)
        } catch (error) {
          return `caught: ${(error as Error).message}`
        }
      },
    })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const ok = await engine.trigger(parent, 'x')
    const bad = await engine.trigger(parent, 'fail')
    await engine.settle()
    expect(await ok.status()).toBe('waiting')
    await engine.advance('1h')
    await expect(ok.result()).resolves.toBe('out:x')
    await expect(bad.result()).resolves.toBe('caught: child broke')
    await engine.stop()
  })
})

describe('The engine', () => {
  it('multiProcess true on a single-process store throws a CapabilityError', () => {
    expect(() => createEngine({ store: memoryStore(), multiProcess: true })).toThrow(expect.objectContaining({ code: 'ERR_CAPABILITY' }))
  })

  it('concurrency bounds the runs executing at once; the rest wait their turn in the store', async () => {
    const hold = gate()
    const running: string[] = []
    const wf = workflow.create({
      id: 'one-at-a-time',
      run: ({ step, runId }) =>
        step.run('work', async () => {
          running.push(runId)
          await hold.wait
        }),
    })
    const engine = createTestEngine({ workflows: [wf], concurrency: 1 })
    await engine.start()
    const started = nextEvent(engine, 'step:start')
    const a = await engine.trigger(wf, undefined, { id: 'a' })
    const b = await engine.trigger(wf, undefined, { id: 'b' })
    await started
    expect(running).toEqual(['a'])
    expect(await b.status()).toBe('pending')
    hold.open()
    await engine.settle()
    expect([await a.status(), await b.status()]).toEqual(['completed', 'completed'])
    await engine.stop()
  })

  it('finished runs are removed after retention', async () => {
    const wf = workflow.create({ id: 'short-lived', run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf], retention: '1h' })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('59m')
    expect(await run.status()).toBe('completed')
    await engine.advance('1m')
    await expect(run.status()).rejects.toBeInstanceOf(RunNotFoundError)
    await expect(run.result()).rejects.toBeInstanceOf(RunNotFoundError)
    await engine.stop()
  })

  it('start sets up plugins and may be called once', async () => {
    const setups: string[] = []
    const plugin = definePlugin({ name: 'p', setup: () => void setups.push('p') })
    const engine = createTestEngine({ plugins: [plugin] })
    await engine.start()
    expect(setups).toEqual(['p'])
    await expect(engine.start()).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' })
    await engine.stop()
  })

  it('trigger validates the input, stores a new run, and gives it the id <workflow id>:<uuid> by default', async () => {
    const wf = workflow.create({ id: 'ids', input: z.object({ n: z.number() }), run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, { n: 1 })
    expect(run.id).toMatch(/^ids:[0-9a-f-]{36}$/)
    expect(run.workflowId).toBe('ids')
    await expect(engine.trigger(wf, { n: 'x' } as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    await engine.stop()
  })

  it('trigger with the id of an existing run returns that run and stores nothing', async () => {
    const store = memoryStore()
    const wf = workflow.create({ id: 'once', run: async ({ input }) => input })
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    await engine.trigger(wf, 'first', { id: 'same' })
    await engine.settle()
    const before = await store.list('')
    const again = await engine.trigger(wf, 'second', { id: 'same' })
    expect(await store.list('')).toEqual(before)
    expect(again.id).toBe('same')
    await expect(again.result()).resolves.toBe('first')
    await engine.stop()
  })

  it('listRuns pages newest first, 50 a page by default, without steps, filtered by workflow, status, time and id prefix', async () => {
    const a = workflow.create({ id: 'a', run: async () => 1 })
    const b = workflow.create({
      id: 'b',
      async run({ step }) {
        await step.sleep('1d')
      },
    })
    const engine = createTestEngine({ workflows: [a, b] })
    await engine.start()
    for (let i = 0; i < 55; i++) {
      await engine.trigger(a, undefined, { id: `a:${String(i).padStart(2, '0')}` })
      engine.clock.advance(1)
    }
    const from = engine.clock.now()
    await engine.trigger(b, undefined, { id: 'b:1' })
    await engine.settle()
    const first = await engine.listRuns()
    expect(first.runs).toHaveLength(50)
    expect(first.runs.slice(0, 3).map((r) => r.id)).toEqual(['b:1', 'a:54', 'a:53'])
    expect(first.runs[0]?.steps).toEqual([])
    const second = await engine.listRuns({ cursor: first.nextCursor })
    expect(second.runs.map((r) => r.id)).toEqual(['a:05', 'a:04', 'a:03', 'a:02', 'a:01', 'a:00'])
    expect(second.nextCursor).toBeUndefined()
    expect((await engine.listRuns({ workflowId: 'b' })).runs.map((r) => r.id)).toEqual(['b:1'])
    expect((await engine.listRuns({ status: 'sleeping' })).runs.map((r) => r.id)).toEqual(['b:1'])
    expect((await engine.listRuns({ from })).runs.map((r) => r.id)).toEqual(['b:1'])
    expect((await engine.listRuns({ to: from, limit: 1 })).runs.map((r) => r.id)).toEqual(['a:54'])
    expect((await engine.listRuns({ idPrefix: 'a:0', limit: 100 })).runs).toHaveLength(10)
    expect(await engine.countRuns({ workflowId: 'a', status: 'completed' })).toBe(55)
    await engine.stop()
  })

  it('handle gives a RunHandle for an existing run', async () => {
    const wf = workflow.create({ id: 'handled', run: async () => 'out' })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'h1' })
    await engine.settle()
    const handle = engine.handle<string>('h1', 'handled')
    expect(handle).toMatchObject({ id: 'h1', workflowId: 'handled' })
    expect(await handle.status()).toBe('completed')
    await expect(handle.result()).resolves.toBe('out')
    await engine.stop()
  })

  it('stop lets steps in flight finish up to drainTimeout, hands the rest back due at once, and leaves the store open', async () => {
    const store = memoryStore()
    const hold = gate()
    const started = gate()
    let ran = 0
    const wf = workflow.create({
      id: 'drained',
      async run({ step }) {
        await step.run('slow', async () => {
          ran++
          started.open()
          await hold.wait
        })
        return 'done'
      },
    })
    const first = createEngine({ store, workflows: [wf], logger: silentLogger, keepAlive: false, drainTimeout: 20 })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await started.wait
    await first.stop() // the step is still in flight after 20 ms: the run is let go
    expect(await store.get(`run/${run.id}`)).toBeDefined()
    const second = createEngine({ store, workflows: [wf], logger: silentLogger, keepAlive: false })
    await second.start()
    hold.open()
    await expect(second.handle(run.id, wf.id).result()).resolves.toBe('done')
    expect(ran).toBe(2)
    await second.stop()
  })

  it('actions() lists every registered action as JSON', async () => {
    const own = action.create({ id: 'own', description: 'Listed.', input: z.object({ a: z.string() }), execute: async () => 1 })
    const fromPack = action.create({ id: 'pack.thing', description: 'From a pack.', execute: async () => 1 })
    const pack = definePlugin({ name: 'pack', setup: (ctx) => ctx.registerAction(fromPack) })
    const engine = createTestEngine({ actions: [own], plugins: [pack] })
    await engine.start()
    const listed = engine.actions()
    expect(listed.map((a) => a.id).sort()).toEqual(['own', 'pack.thing'])
    expect(listed.find((a) => a.id === 'pack.thing')).toMatchObject({ description: 'From a pack.', retry: { retries: 3 } })
    expect(listed.find((a) => a.id === 'own')?.inputSchema).toMatchObject({ type: 'object' })
    await engine.stop()
  })

  it('result rejects with a RunFailedError whose cause is the run error, or a CancelledError', async () => {
    const fails = workflow.create({
      id: 'fails',
      run: async () => {
        throw new Error('broke')
      },
    })
    const waits = workflow.create({ id: 'waits', run: ({ step }) => step.waitForEvent('never') })
    const engine = createTestEngine({ workflows: [fails, waits] })
    await engine.start()
    const f = await engine.trigger(fails, undefined)
    const w = await engine.trigger(waits, undefined)
    await engine.settle()
    await engine.cancel(w.id)
    const error = await f.result().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RunFailedError)
    expect((error as Error).cause).toMatchObject({ message: 'broke' })
    await expect(w.result()).rejects.toBeInstanceOf(CancelledError)
    await engine.stop()
  })

  it('run.result() before engine.start() on a single-process store throws an EngineStateError', async () => {
    const wf = workflow.create({ id: 'early', run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf] })
    const run = await engine.trigger(wf, undefined)
    await expect(run.result()).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' })
    await engine.start()
    await engine.settle()
    await expect(run.result()).resolves.toBe(1)
    await engine.stop()
  })
})

describe('RunInfo', () => {
  it('getRun shows the run, its steps and where it is', async () => {
    const child = workflow.create({
      id: 'child',
      async run({ step }) {
        await step.waitForEvent('go', { timeout: '1d' })
      },
    })
    const parent = workflow.create({
      id: 'parent',
      initialState: () => ({ stage: 'start' }),
      async run({ step }) {
        await step.run(
          'flaky',
          ({ attempt }) => {
            if (attempt === 1) throw new Error('once')
            return 'ok'
          },
          { retry: { retries: 1, minTimeout: 1_000 } },
        )
        await step.setState({ stage: 'sleeping' })
        await step.sleep('1h')
        await step.invoke(child, undefined)
      },
    })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, { x: 1 }, { id: 'p' })
    await engine.settle()
    const t0 = engine.clock.now()
    let info = await engine.getRun(run.id)
    expect(info).toMatchObject({ id: 'p', workflowId: 'parent', version: '1', status: 'sleeping', input: { x: 1 }, retries: 0 })
    expect(info.steps[0]).toMatchObject({ id: 'flaky#1', kind: 'fn', status: 'retrying', attempts: 1, until: t0 + 1_000 })
    expect(info.wakeAt).toBe(t0 + 1_000)
    await engine.advance('1s')
    info = await engine.getRun(run.id)
    expect(info.state).toEqual({ stage: 'sleeping' })
    expect(info.steps.map((s) => [s.id, s.status])).toEqual([
      ['flaky#1', 'completed'],
      ['setState#1', 'completed'],
      ['sleep#1', 'sleeping'],
    ])
    expect(info.steps[0]).toMatchObject({ attempts: 2, output: 'ok', completedAt: engine.clock.now() })
    expect(info.currentStep).toBe('sleep#1')
    await engine.advance('1h')
    info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'waiting', waitingFor: ['$child:invoke:child#1'] })
    expect(info.steps.at(-1)).toMatchObject({ id: 'invoke:child#1', kind: 'invoke', status: 'waiting', childId: 'p/invoke:child#1' })
    const childInfo = await engine.getRun('p/invoke:child#1')
    expect(childInfo).toMatchObject({ status: 'waiting', waitingFor: ['go'], parentId: 'p' })
    expect(childInfo.steps[0]).toMatchObject({ id: 'wait:go#1', status: 'waiting', until: engine.clock.now() + 86_400_000 })
    await engine.signal(childInfo.id, 'go')
    await engine.settle()
    info = await engine.getRun(run.id)
    expect(info.status).toBe('completed')
    expect(info.finishedAt).toBe(engine.clock.now())
    expect(info.createdAt).toBeLessThan(info.updatedAt)
    await engine.stop()
  })
})

describe('Rules', () => {
  it('a step promise still unfinished and never awaited when the workflow returns fails the run with an InvalidArgumentError', async () => {
    const wf = workflow.create({
      id: 'forgot-await',
      async run({ step }) {
        void step.sleep('1h') // never awaited
        return 'done'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_INVALID_ARGUMENT')
    expect(info.error?.message).toContain('"sleep#1"')
    await engine.stop()
  })

  it('a step promise passed to Promise.race that is still unfinished when the workflow returns is fine', async () => {
    const wf = workflow.create({
      id: 'race-loser',
      run: ({ step }) => Promise.race([step.sleep('1h').then(() => 'slept'), step.run('quick', () => 'quick')]),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe('quick')
    await engine.stop()
  })
})

describe('Edge cases', () => {
  it('trigger before start stores the run, warns once, and the run starts when the engine does', async () => {
    const wf = workflow.create({ id: 'early-bird', run: async () => 'ran' })
    const { logger, at } = captureLogger()
    const engine = createTestEngine({ workflows: [wf], logger })
    const a = await engine.trigger(wf, undefined)
    await engine.trigger(wf, undefined)
    expect(await a.status()).toBe('pending')
    expect(at('warn')).toEqual([
      'engine.trigger() before engine.start(): the run waits, pending, until `await engine.start()` (nothing else runs it on this single-process store).',
    ])
    await engine.start()
    await engine.settle()
    await expect(a.result()).resolves.toBe('ran')
    await engine.stop()
  })

  it('trigger after stop, of an unregistered workflow, or with a bad run id is refused', async () => {
    const wf = workflow.create({ id: 'known', run: async () => 1 })
    const other = workflow.create({ id: 'unknown', run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await expect(engine.trigger(other, undefined)).rejects.toMatchObject({ code: 'ERR_WORKFLOW_NOT_FOUND' })
    await expect(engine.trigger(wf, undefined, { id: 'has space' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await engine.stop()
    await expect(engine.trigger(wf, undefined)).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' })
  })

  it('cancel on a finished run changes nothing', async () => {
    const wf = workflow.create({ id: 'done', run: async () => 'out' })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.cancel(run.id)
    expect(await engine.getRun(run.id)).toMatchObject({ status: 'completed', output: 'out' })
    await engine.stop()
  })

  it('start resumes every run that was in flight', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = workflow.create({
      id: 'moves',
      async run({ step }) {
        const t = await step.now()
        await step.sleep('1h')
        return (await step.now()) - t
      },
    })
    const a = createTestEngine({ workflows: [wf], store, clock })
    await a.start()
    const run = await a.trigger(wf, undefined)
    await a.settle()
    await a.stop()
    const b = createTestEngine({ workflows: [wf], store, clock })
    await b.start()
    await b.advance('1h')
    await expect(b.handle(run.id, wf.id).result()).resolves.toBe(3_600_000)
    await b.stop()
  })
})
