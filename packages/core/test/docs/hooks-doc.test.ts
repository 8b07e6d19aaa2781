// docs/hooks.md and docs/guides/hooks.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  type ActionInterceptorContext,
  action,
  definePlugin,
  type Engine,
  type HookEvents,
  type HookName,
  hookNames,
  memoryStore,
  NonRetryableError,
  type PluginContext,
  workflow,
} from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { captureLogger, gate, recordingStore } from './helpers.js'

/** Records every event (name and payload) the engine emits. */
const recordAll = (engine: Pick<Engine, 'hooks'>) => {
  const events: { name: HookName; e: Record<string, unknown> }[] = []
  for (const name of hookNames as HookName[])
    engine.hooks.on(name, (e: HookEvents[typeof name]) => {
      events.push({ name, e: e as unknown as Record<string, unknown> })
    })
  const of = <N extends HookName>(name: N) => events.filter((x) => x.name === name).map((x) => x.e as unknown as HookEvents[N])
  return { events, of, names: () => events.map((x) => x.name) }
}

const greet = action.create({
  id: 'greet',
  description: 'Greets.',
  input: z.object({ name: z.string() }),
  output: z.object({ text: z.string() }),
  retry: false,
  execute: async ({ name }) => ({ text: `hi ${name}` }),
})

describe('Hooks and plugins', () => {
  it('on and wrap return a function that unregisters what they registered', async () => {
    const wf = workflow.create({ id: 'w', run: ({ step }) => step.run(greet, { name: 'ana' }) })
    const engine = createTestEngine({ workflows: [wf] })
    const seen: string[] = []
    const off = engine.hooks.on('workflow:start', () => void seen.push('observed'))
    const unwrap = engine.hooks.wrap('action', async () => ({ text: 'wrapped' }))
    off()
    unwrap()
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ text: 'hi ana' })
    expect(seen).toEqual([])
    await engine.stop()
  })
})

describe('Observe', () => {
  it('the step:fail observer gets the workflow, run, step, attempts and error', async () => {
    const alerts: string[] = []
    const wf = workflow.create({
      id: 'checkout',
      run: ({ step }) =>
        step.run(
          'charge',
          () => {
            throw new Error('declined')
          },
          { retry: { retries: 1, minTimeout: 1 } },
        ),
    })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.on('step:fail', (e) => {
      alerts.push(`${e.workflowId} ${e.runId}: step ${e.stepId} failed after ${e.attempt} attempts: ${e.error.message}`)
    })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'r1' })
    await engine.settle()
    await engine.advance(1)
    expect(alerts).toEqual(['checkout r1: step charge#1 failed after 2 attempts: declined'])
    await engine.stop()
  })

  it('observers are called synchronously, in registration order, and never awaited', async () => {
    const order: string[] = []
    const never = new Promise<void>(() => {})
    const wf = workflow.create({ id: 'quick', run: async () => 'done' })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.on('workflow:complete', () => {
      order.push('first')
      return never // an async observer that never settles does not hold the run
    })
    engine.hooks.on('workflow:complete', () => void order.push('second'))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe('done')
    expect(order).toEqual(['first', 'second'])
    await engine.stop()
  })

  it('a throwing or rejecting observer is logged and reported on the error event; the run goes on', async () => {
    const { logger, at } = captureLogger()
    const wf = workflow.create({ id: 'robust', run: ({ step }) => step.run('s', () => 1) })
    const engine = createTestEngine({ workflows: [wf], logger })
    const reported: string[] = []
    engine.hooks.on('error', (e) => void reported.push(`${e.source}: ${e.error.message}`))
    engine.hooks.on('step:complete', () => {
      throw new Error('observer bug')
    })
    engine.hooks.on('workflow:complete', async () => {
      throw new Error('async observer bug')
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe(1)
    await new Promise((r) => setImmediate(r))
    expect(reported).toEqual(['observer:step:complete: observer bug', 'observer:workflow:complete: async observer bug'])
    expect(at('error')).toHaveLength(2)
    await engine.stop()
  })

  it('the event object is frozen', async () => {
    const wf = workflow.create({ id: 'frozen', run: async () => ({ a: 1 }) })
    const engine = createTestEngine({ workflows: [wf] })
    const frozen: boolean[] = []
    engine.hooks.on('workflow:complete', (e) => void frozen.push(Object.isFrozen(e)))
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    expect(frozen).toEqual([true])
    await engine.stop()
  })

  it('unknown event names are refused when you register, with a HookError', () => {
    const engine = createTestEngine()
    expect(() => engine.hooks.on('step:completed' as HookName, () => {})).toThrow(expect.objectContaining({ code: 'ERR_HOOK' }))
    expect(() => engine.hooks.wrap('actions' as 'action', async (_c, next) => next())).toThrow(
      expect.objectContaining({ code: 'ERR_HOOK' }),
    )
  })
})

describe('Events', () => {
  it('run-level events carry runId, workflowId, version and at; step-level events add stepId, kind, replayed and attempt', async () => {
    const wf = workflow.create({
      id: 'all-fields',
      version: 7,
      async run({ step }) {
        await step.run(greet, { name: 'ana' })
        await step.run('fn', () => 1)
        await step.now()
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { events } = recordAll(engine)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    const mine = events.filter((x) => x.name !== 'error')
    expect(mine.length).toBeGreaterThan(10)
    for (const { e } of mine) expect(e).toMatchObject({ runId: run.id, workflowId: 'all-fields', version: '7', at: expect.any(Number) })
    for (const { name, e } of mine.filter((x) => x.name.startsWith('step:') || x.name.startsWith('action:'))) {
      expect(e, name).toMatchObject({ stepId: expect.any(String), kind: expect.any(String), replayed: expect.any(Boolean) })
      if (e.kind === 'action' || e.kind === 'fn') {
        if (!e.replayed) expect(e.attempt, `${name} ${e.stepId}`).toBe(1)
      }
    }
    await engine.stop()
  })

  it('workflow:start, resume, suspend and complete carry their fields', async () => {
    const wf = workflow.create({
      id: 'passes',
      async run({ step }) {
        await step.run('a', () => 1)
        await step.waitForEvent('go', { timeout: '1h' })
        return 'out'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    const t0 = engine.clock.now()
    const run = await engine.trigger(wf, { in: 1 })
    await engine.settle()
    await engine.advance('10m')
    await engine.signal(run.id, 'go')
    await engine.settle()
    expect(of('workflow:start')).toEqual([expect.objectContaining({ input: { in: 1 } })])
    expect(of('workflow:suspend')).toEqual([expect.objectContaining({ status: 'waiting', wakeAt: t0 + 3_600_000, waitingFor: ['go'] })])
    expect(of('workflow:resume')).toEqual([expect.objectContaining({ steps: 2, atStep: 'wait:go#1' })])
    expect(of('workflow:complete')).toEqual([expect.objectContaining({ output: 'out', durationMs: 600_000 })])
    await engine.stop()
  })

  it('workflow:start of a child run carries its parent', async () => {
    const child = workflow.create({ id: 'child', run: async () => 1 })
    const parent = workflow.create({ id: 'parent', run: ({ step }) => step.invoke(child, undefined) })
    const engine = createTestEngine({ workflows: [parent, child] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(parent, undefined, { id: 'p' })
    await engine.settle()
    expect(of('workflow:start').find((e) => e.workflowId === 'child')?.parent).toMatchObject({ runId: 'p', stepId: 'invoke:child#1' })
    await engine.stop()
  })

  it('workflow:fail and workflow:cancel carry the error and the reason, a cancelled parent cancels its child', async () => {
    const child = workflow.create({ id: 'child', run: ({ step }) => step.waitForEvent('never') })
    const parent = workflow.create({ id: 'parent', run: ({ step }) => step.invoke(child, undefined) })
    const fails = workflow.create({
      id: 'fails',
      run: async () => {
        throw new Error('bug')
      },
    })
    const engine = createTestEngine({ workflows: [parent, child, fails] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(parent, undefined, { id: 'p' })
    await engine.trigger(fails, undefined, { id: 'f' })
    await engine.settle()
    await engine.cancel('p', 'no longer needed')
    await engine.settle()
    expect(of('workflow:fail').map((e) => [e.runId, e.error.message])).toEqual([['f', 'bug']])
    expect(of('workflow:cancel').map((e) => [e.runId, e.reason])).toEqual([
      ['p', 'no longer needed'],
      ['p/invoke:child#1', 'parent run "p" was cancelled'],
    ])
    await engine.stop()
  })

  it('step:start fires once per attempt of an action or fn step, and for no other kind', async () => {
    const wf = workflow.create({
      id: 'starts',
      async run({ step }) {
        await step.run(greet, { name: 'a' })
        await step.run(
          'flaky',
          ({ attempt }) => {
            if (attempt === 1) throw new Error('once')
          },
          { retry: { retries: 1, minTimeout: 1 } },
        )
        await step.now()
        await step.setState({ a: 1 })
        await step.sleep(1)
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance(1)
    await engine.advance(1)
    expect(of('step:start').map((e) => [e.stepId, e.kind, e.attempt])).toEqual([
      ['greet#1', 'action', 1],
      ['flaky#1', 'fn', 1],
      ['flaky#1', 'fn', 2],
    ])
    await engine.stop()
  })

  it('step:complete fires when a result is committed, and again with replayed: true and durationMs 0 on replay', async () => {
    const { store, control } = recordingStore(memoryStore())
    const wf = workflow.create({
      id: 'completes',
      async run({ step }) {
        await step.run('a', () => 'x')
        const got = await step.waitForEvent('go')
        await step.sleep('1m')
        return got
      },
    })
    const engine = createTestEngine({ workflows: [wf], store })
    const committed: boolean[] = []
    engine.hooks.on('step:complete', (e) => {
      if (e.stepId === 'a#1' && !e.replayed)
        committed.push(
          control.batches.some((ops) => ops.some((o) => o.op === 'set' && o.key.startsWith('jrn/') && o.value.includes('"a#1"'))),
        )
    })
    const { of } = recordAll(engine)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'go', { ok: 1 })
    await engine.settle()
    await engine.advance('1m')
    expect(committed).toEqual([true])
    // The signal resumes the run in a new execution (a#1 replayed), then the sleep's end in another.
    expect(of('step:complete').map((e) => [e.stepId, e.replayed, e.replayed ? e.durationMs : 'ran', e.output])).toEqual([
      ['a#1', false, 'ran', 'x'],
      ['a#1', true, 0, 'x'],
      ['wait:go#1', false, 'ran', { ok: 1 }],
      ['a#1', true, 0, 'x'],
      ['wait:go#1', true, 0, { ok: 1 }],
      ['sleep#1', false, 'ran', undefined],
    ])
    await engine.stop()
  })

  // Fails until sleeps, wait timeouts and invoke results emit step:complete when they commit (steps/waits.ts): see the report.
  it('step:complete fires for a sleep, a wait that timed out (output null) and an invoke when they commit', async () => {
    const child = workflow.create({ id: 'child', run: async () => 'child out' })
    const wf = workflow.create({
      id: 'other-kinds',
      async run({ step }) {
        await step.sleep('1m')
        await step.waitForEvent('never', { timeout: '1m' })
        await step.invoke(child, undefined)
      },
    })
    const engine = createTestEngine({ workflows: [wf, child] })
    const { of } = recordAll(engine)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    await engine.advance('1m')
    expect(await run.status()).toBe('completed')
    expect(
      of('step:complete')
        .filter((e) => e.runId === run.id && !e.replayed)
        .map((e) => [e.stepId, e.output]),
    ).toEqual([
      ['sleep#1', undefined],
      ['wait:never#1', null],
      ['invoke:child#1', 'child out'],
    ])
    await engine.stop()
  })

  it('step:fail fires when an action or fn step fails for good, and again on replay', async () => {
    const wf = workflow.create({
      id: 'fails-for-good',
      async run({ step }) {
        await step
          .run(
            'bad',
            () => {
              throw new NonRetryableError('no')
            },
            {},
          )
          .catch(() => {})
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    expect(of('step:fail').map((e) => [e.stepId, e.replayed, e.error.message])).toEqual([
      ['bad#1', false, '[do-sdk] no'],
      ['bad#1', true, '[do-sdk] no'],
    ])
    await engine.stop()
  })

  // Fails until a refused setState, a wait whose payload fails its schema and a failed child emit step:fail on the first run as on replay: see the report.
  it('step:fail fires on the first run for every failed step kind, as on replay', async () => {
    const child = workflow.create({
      id: 'child',
      run: async () => {
        throw new Error('child failed')
      },
    })
    const wf = workflow.create({
      id: 'kinds-fail',
      state: z.object({ n: z.number() }),
      initialState: () => ({ n: 0 }),
      async run({ step }) {
        await step.setState({ n: 'x' } as never).catch(() => {})
        await step.waitForEvent('typed', { schema: z.object({ ok: z.boolean() }) }).catch(() => {})
        await step.invoke(child, undefined).catch(() => {})
      },
    })
    const engine = createTestEngine({ workflows: [wf, child] })
    const { of } = recordAll(engine)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'typed', { ok: 'no' })
    await engine.settle()
    expect(
      of('step:fail')
        .filter((e) => e.runId === run.id && !e.replayed)
        .map((e) => e.stepId),
    ).toEqual(['setState#1', 'wait:typed#1', 'invoke:child#1'])
    await engine.stop()
  })

  it('step:retry carries the error, the next attempt time and the delay', async () => {
    const wf = workflow.create({
      id: 'retries',
      run: ({ step }) =>
        step.run(
          'flaky',
          ({ attempt }) => {
            if (attempt === 1) throw new Error('once')
          },
          { retry: { retries: 1, minTimeout: 5_000 } },
        ),
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    expect(of('step:retry')).toEqual([
      expect.objectContaining({ stepId: 'flaky#1', attempt: 1, delayMs: 5_000, nextAttemptAt: engine.clock.now() + 5_000 }),
    ])
    expect(of('step:retry')[0]?.error.message).toBe('once')
    await engine.stop()
  })

  it('action:start, action:complete and action:fail fire for each action attempt, whether or not the step retries', async () => {
    let attempts = 0
    const flaky = action.create({
      id: 'flaky-action',
      description: 'Fails once.',
      retry: { retries: 1, minTimeout: 1 },
      execute: async (input: { n: number }) => {
        if (++attempts === 1) throw new Error('once')
        return input.n * 2
      },
    })
    const wf = workflow.create({ id: 'actions', run: ({ step }) => step.run(flaky, { n: 21 }) })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'a1' })
    await engine.settle()
    await engine.advance(1)
    expect(of('action:start').map((e) => [e.actionId, e.input, e.idempotencyKey, e.attempt])).toEqual([
      ['flaky-action', { n: 21 }, 'a1:flaky-action#1', 1],
      ['flaky-action', { n: 21 }, 'a1:flaky-action#1', 2],
    ])
    expect(of('action:fail').map((e) => [e.attempt, e.error.message])).toEqual([[1, 'once']])
    expect(of('action:complete').map((e) => [e.attempt, e.output, typeof e.durationMs])).toEqual([[2, 42, 'number']])
    await engine.stop()
  })

  it('state:change carries the step, the state and the previous state, and is not fired on replay', async () => {
    const wf = workflow.create({
      id: 'states',
      initialState: () => ({ n: 0 }),
      async run({ step }) {
        await step.setState({ n: 1 })
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    expect(of('state:change').map((e) => [e.stepId, e.state, e.previous])).toEqual([['setState#1', { n: 1 }, { n: 0 }]])
    await engine.stop()
  })

  it('signal:receive fires when a wait takes a signal, and timer:fire when a sleep ends', async () => {
    const wf = workflow.create({
      id: 'signals-and-timers',
      async run({ step }) {
        await step.waitForEvent('go')
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { of } = recordAll(engine)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const sentAt = engine.clock.now()
    await engine.signal(run.id, 'go', { by: 'ana' })
    await engine.settle()
    const scheduledAt = engine.clock.now() + 60_000
    // The clock jumps past the wake-up (as after a process was down), so the timer fires 30 s late.
    engine.clock.advance(90_000)
    await engine.settle()
    expect(of('signal:receive')).toEqual([expect.objectContaining({ name: 'go', payload: { by: 'ana' }, sentAt })])
    expect(of('timer:fire')).toEqual([expect.objectContaining({ scheduledAt, lateMs: 30_000 })])
    await engine.stop()
  })

  it('the error event reports an execution dropped without writing, and a scheduler that failed', async () => {
    const clock = virtualClock()
    const { store, control } = recordingStore(memoryStore({ now: clock.now }))
    const hold = gate()
    const running = gate()
    const wf = workflow.create({
      id: 'dropped',
      async run({ step }) {
        await step.run('hold', async () => {
          running.open()
          await hold.wait
        })
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, clock })
    const sources: string[] = []
    engine.hooks.on('error', (e) => void sources.push(e.source))
    await engine.start()
    await engine.trigger(wf, undefined)
    await running.wait
    control.down = true // the store goes away while the step runs
    hold.open()
    engine.clock.advance(10_000) // the lease runs out before it could be renewed
    await engine.settle()
    await engine.advance('1m')
    expect(sources).toContain('execution')
    expect(sources).toContain('scheduler')
    control.down = false
    await engine.stop()
  })

  // Fails until the scheduler reports an unreadable record on the error event (scheduler.ts decode): see the report.
  it('the error event reports a stored record that could not be read', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = workflow.create({ id: 'sleeper', run: ({ step }) => step.sleep('1h') })
    const engine = createTestEngine({ workflows: [wf], store, clock })
    const sources: string[] = []
    engine.hooks.on('error', (e) => void sources.push(e.source))
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'broken' })
    await engine.settle()
    await store.batch([{ op: 'set', key: 'run/broken', value: '{"not json' }])
    await engine.advance('1h')
    expect(sources).toEqual(['corrupt-record'])
    await engine.stop()
  })

  it('one action step fires step:start, action:start, action:complete, step:complete; a replayed step only step:complete', async () => {
    const wf = workflow.create({
      id: 'order',
      async run({ step }) {
        await step.run(greet, { name: 'a' })
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const { names, events } = recordAll(engine)
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    const firstPass = names().filter((n) => n.startsWith('step:') || n.startsWith('action:'))
    expect(firstPass).toEqual(['step:start', 'action:start', 'action:complete', 'step:complete'])
    events.length = 0
    await engine.advance('1m')
    expect(
      events
        .filter((x) => (x.name.startsWith('step:') || x.name.startsWith('action:')) && x.e.replayed !== false)
        .map((x) => [x.name, x.e.stepId, x.e.replayed]),
    ).toEqual([['step:complete', 'greet#1', true]])
    await engine.stop()
  })
})

describe('Wrap', () => {
  it('the first registered wrap is the outermost, and step wraps run outside action wraps', async () => {
    const order: string[] = []
    const wf = workflow.create({ id: 'layers', run: ({ step }) => step.run(greet, { name: 'a' }) })
    const layer = (name: string) => async (_c: unknown, next: () => Promise<unknown>) => {
      order.push(`${name} in`)
      const out = await next()
      order.push(`${name} out`)
      return out
    }
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('step', layer('step wrap 1'))
    engine.hooks.wrap('step', layer('step wrap 2'))
    engine.hooks.wrap('action', layer('action wrap 1'))
    engine.hooks.wrap('action', layer('action wrap 2'))
    engine.hooks.on('action:start', () => void order.push('action:start'))
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    expect(order).toEqual([
      'step wrap 1 in',
      'step wrap 2 in',
      'action:start',
      'action wrap 1 in',
      'action wrap 2 in',
      'action wrap 2 out',
      'action wrap 1 out',
      'step wrap 2 out',
      'step wrap 1 out',
    ])
    await engine.stop()
  })

  it('an action wrap may pass a new input to next: inner wraps and the action get it, and the action still validates it', async () => {
    const seenByInner: unknown[] = []
    const wf = workflow.create({
      id: 'rewrites',
      async run({ step }) {
        const ok = await step.run(greet, { name: 'a' })
        const bad = await step.run(greet, { name: 'b' }).catch((e: { code?: string }) => e.code)
        return [ok, bad]
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('action', (c, next) => next(c.stepId === 'greet#1' ? { name: 'rewritten' } : { name: 42 }))
    engine.hooks.wrap('action', (c, next) => {
      seenByInner.push(c.input)
      return next()
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual([{ text: 'hi rewritten' }, 'ERR_VALIDATION'])
    expect(seenByInner).toEqual([{ name: 'a' }, { name: 'b' }])
    await engine.stop()
  })

  it('a wrap that changes the output changes the journaled result, which replays see', async () => {
    const wf = workflow.create({
      id: 'changed-output',
      async run({ step }) {
        const out = await step.run(greet, { name: 'a' })
        await step.sleep('1m')
        return out
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('action', async (_c, next) => ({ text: `${((await next()) as { text: string }).text}!` }))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    await expect(run.result()).resolves.toEqual({ text: 'hi a!' })
    expect((await engine.getRun(run.id)).steps[0]?.output).toEqual({ text: 'hi a!' })
    await engine.stop()
  })

  it('an action wrap short-circuit skips the inner wraps and the action, and its result is checked by the action output schema', async () => {
    const ran: string[] = []
    const counting = action.create({
      id: 'counting',
      description: 'Counts its calls.',
      output: z.object({ n: z.number() }),
      retry: false,
      execute: async () => {
        ran.push('action')
        return { n: 0 }
      },
    })
    const wf = workflow.create({
      id: 'short',
      async run({ step }) {
        const good = await step.run(counting, undefined)
        const bad = await step.run(counting, undefined).catch((e: { code?: string }) => e.code)
        return [good, bad]
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const events: string[] = []
    engine.hooks.on('action:complete', (e) => void events.push(`complete ${e.stepId}`))
    engine.hooks.wrap('action', async (c) => (c.stepId === 'counting#1' ? { n: 1 } : { n: 'not a number' }))
    engine.hooks.wrap('action', async (_c, next) => {
      ran.push('inner wrap')
      return next()
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual([{ n: 1 }, 'ERR_VALIDATION'])
    expect(ran).toEqual([])
    expect(events).toEqual(['complete counting#1'])
    await engine.stop()
  })

  it('a step wrap short-circuit also skips the action wraps, the action:* events and the action schemas', async () => {
    const seen: string[] = []
    const wf = workflow.create({ id: 'step-short', run: ({ step }) => step.run(greet, { name: 'a' }) })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('step', async () => ({ anything: true }))
    engine.hooks.wrap('action', async (_c, next) => {
      seen.push('action wrap')
      return next()
    })
    for (const name of ['action:start', 'action:complete', 'action:fail'] as const) engine.hooks.on(name, () => void seen.push(name))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ anything: true })
    expect(seen).toEqual([])
    await engine.stop()
  })

  it('a wrap that throws vetoes the attempt: a plain Error is retried, a NonRetryableError fails the step at once', async () => {
    let calls = 0
    const wf = workflow.create({
      id: 'vetoed',
      async run({ step }) {
        const retried = await step.run(greet, { name: 'plain' }, { retry: { retries: 1, minTimeout: 1 } })
        const refused = await step
          .run(greet, { name: 'refused' }, { retry: { retries: 3, minTimeout: 1 } })
          .catch((e: { code?: string }) => e.code)
        return [retried, refused]
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('action', async (c, next) => {
      const name = (c.input as { name: string }).name
      if (name === 'refused') throw new NonRetryableError('not allowed')
      if (name === 'plain' && ++calls === 1) throw new Error('try again')
      return next()
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance(1)
    await expect(run.result()).resolves.toEqual([{ text: 'hi plain' }, 'ERR_NON_RETRYABLE'])
    expect((await engine.getRun(run.id)).steps.map((s) => s.attempts)).toEqual([2, 1])
    await engine.stop()
  })

  it('next() called twice rejects with a HookError, the work runs once, and the attempt fails with it', async () => {
    let executed = 0
    const counted = action.create({
      id: 'counted',
      description: 'Counts.',
      retry: { retries: 3, minTimeout: 1 },
      execute: async () => ++executed,
    })
    const wf = workflow.create({ id: 'twice', run: ({ step }) => step.run(counted, undefined) })
    const engine = createTestEngine({ workflows: [wf] })
    let second: unknown
    engine.hooks.wrap('action', async (_c, next) => {
      await next()
      second = await next().catch((e: unknown) => e)
      throw second
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(second).toMatchObject({ code: 'ERR_HOOK', message: expect.stringContaining('Interceptor #1 called next() twice') })
    expect(executed).toBe(1)
    expect((await engine.getRun(run.id)).steps[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'ERR_HOOK' } })
    await engine.stop()
  })

  it('wraps run around executed action and fn attempts only, not replayed steps nor other kinds', async () => {
    const wrapped: string[] = []
    const child = workflow.create({ id: 'child', run: async () => 1 })
    const wf = workflow.create({
      id: 'what-is-wrapped',
      async run({ step }) {
        await step.run(greet, { name: 'a' })
        await step.run('fn', () => 1)
        await step.sleep(1)
        await step.waitForEvent('x', { timeout: 1 })
        await step.invoke(child, undefined)
        await step.setState({ a: 1 })
        await step.now()
        await step.uuid()
        await step.store.set('k', 1)
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf, child] })
    engine.hooks.wrap('step', async (c, next) => {
      wrapped.push(`${c.runId.includes('/') ? 'child ' : ''}${c.stepId}`)
      return next()
    })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    for (let i = 0; i < 3; i++) await engine.advance('1m')
    expect(wrapped).toEqual(['greet#1', 'fn#1'])
    await engine.stop()
  })

  it('a step wrap next() takes no argument: the step input stays the workflow business', async () => {
    const wf = workflow.create({ id: 'step-next', run: ({ step }) => step.run(greet, { name: 'original' }) })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('step', (_c, next) => (next as (x: unknown) => Promise<unknown>)({ name: 'ignored' }))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ text: 'hi original' })
    await engine.stop()
  })

  it('action and step wraps get the documented context', async () => {
    const actionCtx: Partial<ActionInterceptorContext>[] = []
    const stepCtx: unknown[] = []
    const wf = workflow.create({
      id: 'contexts',
      async run({ step }) {
        await step.run(greet, { name: 'a' })
        await step.run('fn', () => 1)
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('action', (c, next) => {
      actionCtx.push({
        runId: c.runId,
        workflowId: c.workflowId,
        stepId: c.stepId,
        input: c.input,
        attempt: c.attempt,
        idempotencyKey: c.idempotencyKey,
      })
      expect(c.action.id).toBe('greet')
      return next()
    })
    engine.hooks.wrap('step', (c, next) => {
      stepCtx.push({ ...c })
      return next()
    })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'c1' })
    await engine.settle()
    expect(actionCtx).toEqual([
      { runId: 'c1', workflowId: 'contexts', stepId: 'greet#1', input: { name: 'a' }, attempt: 1, idempotencyKey: 'c1:greet#1' },
    ])
    expect(stepCtx).toEqual([
      { runId: 'c1', workflowId: 'contexts', stepId: 'greet#1', kind: 'action', attempt: 1, input: { name: 'a' } },
      { runId: 'c1', workflowId: 'contexts', stepId: 'fn#1', kind: 'fn', attempt: 1, input: undefined },
    ])
    await engine.stop()
  })

  it('a value returned by a wrap must be storable: one that is not fails the attempt with a SerializationError', async () => {
    const wf = workflow.create({ id: 'unstorable-wrap', run: ({ step }) => step.run('fn', () => 1) })
    const engine = createTestEngine({ workflows: [wf] })
    engine.hooks.wrap('step', async () => ({ fn: () => 1 }))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).error?.code).toBe('ERR_SERIALIZATION')
    await engine.stop()
  })
})

describe('Plugins', () => {
  it('setup gets on, wrap, registerAction and log; plugins are set up by start, in order, and setup may be async', async () => {
    const order: string[] = []
    const keys: string[][] = []
    const first = definePlugin({
      name: 'first',
      async setup(ctx) {
        keys.push(Object.keys(ctx).sort())
        await new Promise((r) => setImmediate(r))
        order.push('first')
      },
    })
    const second = definePlugin({ name: 'second', setup: () => void order.push('second') })
    const engine = createTestEngine({ plugins: [first, second] })
    expect(order).toEqual([])
    await engine.start()
    expect(order).toEqual(['first', 'second'])
    expect(keys).toEqual([['log', 'on', 'registerAction', 'wrap']])
    await engine.stop()
  })

  it('definePlugin checks the shape at once', () => {
    expect(() => definePlugin({ name: '', setup: () => {} })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => definePlugin({ name: 'x' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })

  it('an action pack is a plugin whose setup registers its actions', async () => {
    const pack = definePlugin({ name: 'greetings', setup: (ctx) => ctx.registerAction(greet) })
    const engine = createTestEngine({ plugins: [pack] })
    await engine.start()
    expect(engine.actions().map((a) => a.id)).toEqual(['greet'])
    await engine.stop()
  })

  it('a plugin ctx kept and called after its setup returned throws an EngineStateError', async () => {
    let kept: PluginContext | undefined
    const engine = createTestEngine({ plugins: [definePlugin({ name: 'keeper', setup: (ctx) => void (kept = ctx) })] })
    await engine.start()
    expect(() => kept?.on('workflow:start', () => {})).toThrow(expect.objectContaining({ code: 'ERR_ENGINE_STATE' }))
    expect(() => kept?.registerAction(greet)).toThrow(expect.objectContaining({ code: 'ERR_ENGINE_STATE' }))
    await engine.stop()
  })

  it('engine.hooks.wrap is refused once start has run; engine.hooks.on works at any time', async () => {
    const wf = workflow.create({ id: 'late', run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    expect(() => engine.hooks.wrap('action', (_c, next) => next())).toThrow(expect.objectContaining({ code: 'ERR_HOOK' }))
    const seen: string[] = []
    engine.hooks.on('workflow:complete', (e) => void seen.push(e.runId))
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(seen).toEqual([run.id])
    await engine.stop()
  })
})

describe('Examples', () => {
  const charge = action.create({
    id: 'payments.charge',
    description: 'Charges a card.',
    input: z.object({ customerId: z.string(), amount: z.number() }),
    retry: false,
    execute: async ({ amount }) => ({ chargeId: `ch_${amount}` }),
  })
  const emailSend = action.create({
    id: 'email.send',
    description: 'Sends an email.',
    input: z.object({ to: z.string() }),
    retry: false,
    execute: async () => {
      throw new Error('the real email action must not run here')
    },
  })
  const checkout = workflow.create({
    id: 'checkout',
    input: z.object({ customerId: z.string(), email: z.string(), amount: z.number() }),
    async run({ input, step }) {
      const paid = await step.run(charge, { customerId: input.customerId, amount: input.amount })
      const mail = await step.run(emailSend, { to: input.email })
      return { paid, mail }
    },
  })
  const mockEmail = () => {
    const calls: { actionId: string; stepId: string; input: unknown }[] = []
    const plugin = definePlugin({
      name: 'example-mock-actions',
      setup(ctx) {
        ctx.wrap('action', async (c, next) => {
          if (c.action.id !== 'email.send') return next()
          calls.push({ actionId: c.action.id, stepId: c.stepId, input: c.input })
          return { messageId: 'mock_1' }
        })
      },
    })
    return { plugin, calls }
  }
  const input = { customerId: 'cus_1', email: 'jane@example.com', amount: 120 }

  it('the logger example writes one line per run event and skips replayed steps', async () => {
    const lines: string[] = []
    const write = (line: string) => void lines.push(line)
    const loggerPlugin = definePlugin({
      name: 'example-logger',
      setup(ctx) {
        ctx.on('workflow:start', (e) => write(`[${e.runId}] started ${e.workflowId}@${e.version}`))
        ctx.on('workflow:complete', (e) => write(`[${e.runId}] completed in ${e.durationMs}ms`))
        ctx.on('step:complete', (e) => {
          if (!e.replayed) write(`[${e.runId}] step ${e.stepId} done`)
        })
      },
    })
    const { plugin } = mockEmail()
    const engine = createTestEngine({ workflows: [checkout], plugins: [loggerPlugin, plugin] })
    await engine.start()
    await engine.trigger(checkout, input, { id: 'checkout:1' })
    await engine.settle()
    expect(lines).toEqual([
      '[checkout:1] started checkout@1',
      '[checkout:1] step payments.charge#1 done',
      '[checkout:1] step email.send#1 done',
      '[checkout:1] completed in 0ms',
    ])
    await engine.stop()
  })

  it('the metrics example counts runs, steps and action attempts', async () => {
    const counters = new Map<string, number>()
    const inc = (name: string) => void counters.set(name, (counters.get(name) ?? 0) + 1)
    const metrics = definePlugin({
      name: 'example-metrics',
      setup(ctx) {
        ctx.on('workflow:start', () => inc('runs.started'))
        ctx.on('workflow:complete', () => inc('runs.completed'))
        ctx.on('step:complete', (e) => {
          if (!e.replayed) inc(`steps.completed.${e.kind}`)
        })
        ctx.on('action:start', (e) => inc(`actions.${e.actionId}.attempts`))
      },
    })
    const { plugin } = mockEmail()
    const engine = createTestEngine({ workflows: [checkout], plugins: [metrics, plugin] })
    await engine.start()
    await engine.trigger(checkout, input)
    await engine.settle()
    expect(Object.fromEntries(counters)).toEqual({
      'runs.started': 1,
      'runs.completed': 1,
      'steps.completed.action': 2,
      'actions.payments.charge.attempts': 1,
      'actions.email.send.attempts': 1,
    })
    await engine.stop()
  })

  it('the authorization example: a refused charge never reaches the gateway and the run fails with the reason', async () => {
    let reached = 0
    const gateway = action.create({
      id: 'payments.charge',
      description: 'Charges a card.',
      input: z.object({ amount: z.number() }),
      retry: false,
      execute: async () => ++reached,
    })
    const wf = workflow.create({ id: 'pay', input: z.object({ amount: z.number() }), run: ({ input, step }) => step.run(gateway, input) })
    const authorization = definePlugin({
      name: 'example-authorization',
      setup(ctx) {
        ctx.wrap('action', async (c, next) => {
          const refusal =
            c.action.id === 'payments.charge' && (c.input as { amount: number }).amount > 500 ? 'over the 500 limit' : undefined
          if (refusal !== undefined) throw new NonRetryableError(`Action "${c.action.id}" refused in run "${c.runId}": ${refusal}`)
          return next()
        })
      },
    })
    const engine = createTestEngine({ workflows: [wf], plugins: [authorization] })
    await engine.start()
    const run = await engine.trigger(wf, { amount: 900 }, { id: 'pay:1' })
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(reached).toBe(0)
    expect(info.steps[0]).toMatchObject({ status: 'failed', error: { code: 'ERR_NON_RETRYABLE' } })
    expect(info.error?.message).toContain('Action "payments.charge" refused in run "pay:1": over the 500 limit')
    await engine.stop()
  })

  it('the mock example: no email leaves, the calls are recorded and the journal holds the mock result', async () => {
    const { plugin, calls } = mockEmail()
    const engine = createTestEngine({ workflows: [checkout], plugins: [plugin] })
    await engine.start()
    const run = await engine.trigger(checkout, input)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ paid: { chargeId: 'ch_120' }, mail: { messageId: 'mock_1' } })
    expect(calls).toEqual([{ actionId: 'email.send', stepId: 'email.send#1', input: { to: 'jane@example.com' } }])
    expect((await engine.getRun(run.id)).steps[1]?.output).toEqual({ messageId: 'mock_1' })
    await engine.stop()
  })
})
