// docs/concepts.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { action, createEngine, memoryStore, RunNotFoundError, silentLogger, workflow } from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { tempDir } from '../engine/fixtures.js'
import { gate, keysOf, nextEvent, recordingStore } from './helpers.js'

describe('Actions', () => {
  it('action.create validates input and output with zod', async () => {
    const double = action.create({
      id: 'double',
      description: 'Doubles a number.',
      input: z.object({ n: z.number() }),
      output: z.object({ n: z.number().max(10) }),
      execute: async ({ n }) => ({ n: n * 2 }),
    })
    await expect(double.execute({ n: 2 })).resolves.toEqual({ n: 4 })
    await expect(double.execute({ n: 'two' } as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    await expect(double.execute({ n: 6 })).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
  })

  it('a failed attempt is retried with the same idempotency key', async () => {
    const keys: string[] = []
    const flaky = action.create({
      id: 'flaky',
      description: 'Fails twice.',
      retry: { retries: 3, minTimeout: 1, factor: 1 },
      execute: async (_: undefined, { idempotencyKey, attempt }) => {
        keys.push(idempotencyKey)
        if (attempt < 3) throw new Error('not yet')
        return attempt
      },
    })
    await expect(flaky.execute(undefined)).resolves.toBe(3)
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1)
  })

  it('an attempt that runs past its timeout is aborted through its AbortSignal', async () => {
    let seen: AbortSignal | undefined
    const slow = action.create({
      id: 'slow',
      description: 'Waits until aborted.',
      timeout: 5,
      retry: false,
      execute: (_: undefined, { signal }) =>
        new Promise((_resolve, reject) => {
          seen = signal
          signal.addEventListener('abort', () => reject(signal.reason))
        }),
    })
    await expect(slow.execute(undefined)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(seen?.aborted).toBe(true)
  })

  it('an action runs directly with execute or as a workflow step', async () => {
    const greet = action.create({ id: 'greet', description: 'Greets.', execute: async (name: string) => `hi ${name}` })
    await expect(greet.execute('ana')).resolves.toBe('hi ana')
    const wf = workflow.create({ id: 'greeter', run: ({ step }) => step.run(greet, 'bo') })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe('hi bo')
    await engine.stop()
  })
})

describe('Workflows', () => {
  it('a step result is committed before the next step does any work', async () => {
    let seenByB: string[] = []
    const wf = workflow.create({
      id: 'a-then-b',
      async run({ step, runId }) {
        await step.run('a', () => 1)
        await step.run('b', async () => {
          // Read from the store by the engine's public API, while step b runs.
          seenByB = (await engine.getRun(runId)).steps.filter((s) => s.status === 'completed').map((s) => s.id)
        })
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await run.result()
    expect(seenByB).toEqual(['a#1'])
    await engine.stop()
  })

  it('a committed step never runs again, even after a crash', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const ran: string[] = []
    const wf = workflow.create({
      id: 'two-steps',
      async run({ step }) {
        await step.run('a', () => ran.push('a'))
        await step.run('b', () => ran.push('b'))
      },
    })
    const first = createTestEngine({ workflows: [wf], store, clock, engineId: 'app', crashBeforeCommit: 'b#1' })
    await first.start()
    await first.trigger(wf, undefined, { id: 'r' })
    await first.settle()
    expect(first.crashed).toBe(true)
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    expect((await second.getRun('r')).status).toBe('completed')
    expect(ran).toEqual(['a', 'b', 'b'])
    await second.stop()
  })
})

describe('The journal and replay', () => {
  it('the journal holds step results in the order the workflow code received them', async () => {
    const g = [gate(), gate(), gate()]
    const wf = workflow.create({
      id: 'fan',
      run: ({ step }) => Promise.all([0, 1, 2].map((i) => step.run('f', () => g[i]?.wait.then(() => i)))),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    const done = (id: string) => nextEvent(engine, 'step:complete', (e) => e.stepId === id)
    for (const i of [2, 0, 1]) {
      const committed = done(`f#${i + 1}`)
      g[i]?.open()
      await committed
    }
    await engine.settle()
    await expect(run.result()).resolves.toEqual([0, 1, 2])
    expect((await engine.getRun(run.id)).steps.map((s) => s.id)).toEqual(['f#3', 'f#1', 'f#2'])
    await engine.stop()
  })

  it('a resumed run calls the workflow again from the top and journaled steps return their recorded results without running', async () => {
    let calls = 0
    let executed = 0
    const wf = workflow.create({
      id: 'resume',
      async run({ step }) {
        calls++
        const a = await step.run('a', () => {
          executed++
          return 'recorded'
        })
        await step.sleep('1h')
        return a
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1h')
    await expect(run.result()).resolves.toBe('recorded')
    expect({ calls, executed }).toEqual({ calls: 2, executed: 1 })
    await engine.stop()
  })

  it('parallel branches may call steps of the same name after an await, and replay hands each branch its own results', async () => {
    const g = [gate(), gate(), gate()]
    const ran: string[] = []
    const wf = workflow.create({
      id: 'branches',
      async run({ step }) {
        const out = await Promise.all(
          [0, 1, 2].map(async (i) => {
            const fetched = await step.run('fetch', () => g[i]?.wait.then(() => i * 10))
            return step.run('transform', () => {
              ran.push(`transform ${i}`)
              return `${i}:${fetched}`
            })
          }),
        )
        await step.sleep('1m')
        return out
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    for (const i of [2, 0, 1]) {
      const transformed = nextEvent(engine, 'step:complete', (e) => e.stepId.startsWith('transform') && !e.replayed)
      g[i]?.open()
      await transformed
    }
    await engine.settle()
    await engine.advance('1m')
    await expect(run.result()).resolves.toEqual(['0:0', '1:10', '2:20'])
    expect(ran).toEqual(['transform 2', 'transform 0', 'transform 1'])
    await engine.stop()
  })

  it('awaiting a timer directly between steps makes the replay diverge with a NonDeterminismError', async () => {
    const wf = workflow.create({
      id: 'awaits-a-timer',
      async run({ step }) {
        await step.run('a', () => 1)
        await new Promise((r) => setTimeout(r, 1)) // not a step
        await step.run('b', () => 2)
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('sleeping')
    await engine.advance('1m')
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_NON_DETERMINISM')
    expect(info.error?.message).toContain('"b#1"')
    await engine.stop()
  })

  it('a run whose journal no longer fits the code stops with a NonDeterminismError naming the step', async () => {
    let name = 'fetch-user'
    const wf = workflow.create({
      id: 'renamed',
      async run({ step }) {
        await step.run(name, () => 1)
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    name = 'load-user'
    await engine.advance('1m')
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_NON_DETERMINISM')
    expect(info.error?.message).toContain('"fetch-user#1"')
    expect(info.error?.message).toContain('"load-user#1"')
    await engine.stop()
  })
})

describe('State', () => {
  it('setState is validated and written in one batch with its journal entry and the run record', async () => {
    const { store, control } = recordingStore(memoryStore())
    const wf = workflow.create({
      id: 'stateful',
      state: z.object({ n: z.number() }),
      initialState: () => ({ n: 0 }),
      async run({ step }) {
        await step.setState({ n: 1 })
        await expect(step.setState({ n: 'x' } as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 's' })
    await engine.settle()
    const withEntry = control.batches.filter((ops) => ops.some((o) => o.op === 'set' && o.value.includes('"setState#1"')))
    expect(withEntry).toHaveLength(1)
    const record = withEntry[0]?.find((o) => o.op === 'set' && o.key === 'run/s')
    expect(record && record.op === 'set' && JSON.parse(record.value).state).toEqual({ n: 1 })
    expect((await engine.getRun(run.id)).state).toEqual({ n: 1 })
    await engine.stop()
  })

  it('state inside run reflects the last setState, and getRun shows it', async () => {
    const wf = workflow.create({
      id: 'live-state',
      initialState: () => ({ step: 'start' }),
      async run({ state, step }) {
        const seen = [state.step]
        await step.setState({ step: 'one' })
        seen.push(state.step)
        await step.setState((s) => ({ ...s, step: 'two' }))
        seen.push(state.step)
        await step.sleep('1m')
        return seen
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).state).toEqual({ step: 'two' })
    await engine.advance('1m')
    await expect(run.result()).resolves.toEqual(['start', 'one', 'two'])
    await engine.stop()
  })
})

describe('Signals', () => {
  it('a signal sent before the run waits is kept and delivered', async () => {
    const wf = workflow.create({
      id: 'late-waiter',
      async run({ step }) {
        await step.sleep('1h')
        return step.waitForEvent('go')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await engine.signal(run.id, 'go', { early: true })).toBe(true)
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('sleeping')
    await engine.advance('1h')
    await expect(run.result()).resolves.toEqual({ early: true })
    await engine.stop()
  })

  it('signals to one run are delivered in the order they were sent', async () => {
    const wf = workflow.create({
      id: 'in-order',
      async run({ step }) {
        await step.sleep('1h')
        const got: unknown[] = []
        for (let i = 0; i < 3; i++) got.push(await step.waitForEvent('n'))
        return got
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    for (const n of [1, 2, 3]) await engine.signal(run.id, 'n', n)
    await engine.advance('1h')
    await expect(run.result()).resolves.toEqual([1, 2, 3])
    await engine.stop()
  })
})

describe('The Datastore', () => {
  it('engine.kv and step.store share the same keys', async () => {
    const wf = workflow.create({
      id: 'kv-user',
      async run({ step }) {
        const seen = await step.store.get<number>('counter')
        await step.store.set('counter', (seen ?? 0) + 1)
        return seen
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.kv.set('counter', 41)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe(41)
    expect(await engine.kv.get('counter')).toBe(42)
    await engine.stop()
  })
})

describe('Run statuses', () => {
  it('a run is pending until an engine takes it', async () => {
    const wf = workflow.create({ id: 'quick', run: async () => 'done' })
    const engine = createTestEngine({ workflows: [wf] })
    const run = await engine.trigger(wf, undefined) // before start
    expect(await run.status()).toBe('pending')
    await engine.start()
    await engine.settle()
    expect(await run.status()).toBe('completed')
    await engine.stop()
  })

  it('a run is running while a step executes', async () => {
    const g = gate()
    const wf = workflow.create({ id: 'busy', run: ({ step }) => step.run('work', () => g.wait) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const started = nextEvent(engine, 'step:start')
    const run = await engine.trigger(wf, undefined)
    await started
    expect(await run.status()).toBe('running')
    g.open()
    await engine.settle()
    await engine.stop()
  })

  it('a run is sleeping on a timer or a retry delay', async () => {
    let attempts = 0
    const wf = workflow.create({
      id: 'sleepy',
      async run({ step }) {
        await step.sleep('1h')
        await step.run(
          'flaky',
          () => {
            if (++attempts === 1) throw new Error('once')
          },
          { retry: { retries: 1, minTimeout: 60_000 } },
        )
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await run.status()).toBe('sleeping')
    await engine.advance('1h')
    expect(await run.status()).toBe('sleeping')
    expect((await engine.getRun(run.id)).steps.at(-1)?.status).toBe('retrying')
    await engine.advance('1m')
    expect(await run.status()).toBe('completed')
    await engine.stop()
  })

  it('a run is waiting on an event or a child run', async () => {
    const child = workflow.create({ id: 'child', run: ({ step }) => step.waitForEvent('done') })
    const parent = workflow.create({ id: 'parent', run: ({ step }) => step.invoke(child, undefined) })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined, { id: 'p' })
    await engine.settle()
    expect(await run.status()).toBe('waiting')
    const childId = (await engine.getRun('p')).steps[0]?.childId as string
    expect((await engine.getRun(childId)).status).toBe('waiting')
    await engine.signal(childId, 'done', 'ok')
    await engine.settle()
    await expect(run.result()).resolves.toBe('ok')
    await engine.stop()
  })

  it('a run that returns is completed with its output', async () => {
    const wf = workflow.create({ id: 'returns', run: async () => ({ ok: true }) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'completed', output: { ok: true } })
    await engine.stop()
  })

  it('a failed run is retried from the step failure that ended it', async () => {
    let broken = true
    const ran: string[] = []
    const wf = workflow.create({
      id: 'fails-once',
      async run({ step }) {
        await step.run('before', () => ran.push('before'))
        await step.run(
          'fragile',
          () => {
            ran.push('fragile')
            if (broken) throw new Error('down')
          },
          { retry: false },
        )
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await run.status()).toBe('failed')
    broken = false
    await engine.retry(run.id)
    await engine.settle()
    expect(await run.status()).toBe('completed')
    expect(ran).toEqual(['before', 'fragile', 'fragile'])
    await engine.stop()
  })

  it('a cancelled run cancels its children', async () => {
    const child = workflow.create({ id: 'child', run: ({ step }) => step.waitForEvent('never') })
    const parent = workflow.create({ id: 'parent', run: ({ step }) => step.invoke(child, undefined) })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined, { id: 'p' })
    await engine.settle()
    const childId = (await engine.getRun('p')).steps[0]?.childId as string
    await engine.cancel(run.id)
    await engine.settle()
    expect(await run.status()).toBe('cancelled')
    expect((await engine.getRun(childId)).status).toBe('cancelled')
    await engine.stop()
  })
})

describe('Guarantees', () => {
  it('an attempt in flight during a crash is attempted again with the same idempotency key', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const keys: string[] = []
    const charge = action.create({
      id: 'charge',
      description: 'Charges a card.',
      execute: async (_: undefined, { idempotencyKey }) => {
        keys.push(idempotencyKey)
        return 'ch_1'
      },
    })
    const wf = workflow.create({ id: 'pay', run: ({ step }) => step.run(charge, undefined) })
    const first = createTestEngine({ workflows: [wf], store, clock, engineId: 'app', crashBeforeCommit: 'charge#1' })
    await first.start()
    await first.trigger(wf, undefined, { id: 'pay:1' })
    await first.settle()
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    expect((await second.getRun('pay:1')).status).toBe('completed')
    expect(keys).toEqual(['pay:1:charge#1', 'pay:1:charge#1'])
    await second.stop()
  })

  it('timers survive a restart and fire once', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = workflow.create({
      id: 'sleeper',
      async run({ step }) {
        await step.sleep('1d')
        return 'woke'
      },
    })
    const first = createTestEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined, { id: 'sl' })
    await first.settle()
    await first.stop()
    const fired: number[] = []
    const second = createTestEngine({ workflows: [wf], store, clock })
    second.hooks.on('timer:fire', (e) => void fired.push(e.scheduledAt))
    await second.start()
    await second.advance('1d')
    await second.advance('1d')
    expect(fired).toHaveLength(1)
    await expect(second.handle(run.id, wf.id).result()).resolves.toBe('woke')
    await second.stop()
  })

  it('bad input fails with a ValidationError and writes nothing', async () => {
    const { store, control } = recordingStore(memoryStore())
    const wf = workflow.create({ id: 'typed', input: z.object({ email: z.string().email() }), run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    await expect(engine.trigger(wf, { email: 'nope' }, { id: 'bad' })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      issues: [expect.objectContaining({ path: ['email'] })],
    })
    expect(control.batches.filter((ops) => keysOf(ops, 'set').includes('run/bad'))).toEqual([])
    await expect(engine.getRun('bad')).rejects.toBeInstanceOf(RunNotFoundError)
    await engine.stop()
  })

  it('a corrupt run record fails that run only', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = workflow.create({
      id: 'sleeper',
      async run({ step }) {
        await step.sleep('1h')
        return 'ok'
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, clock })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'broken' })
    const fine = await engine.trigger(wf, undefined, { id: 'fine' })
    await engine.settle()
    await store.batch([{ op: 'set', key: 'run/broken', value: '{"not json' }])
    await engine.advance('1h')
    await expect(fine.result()).resolves.toBe('ok')
    const info = await engine.getRun('broken')
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_CORRUPT_RECORD')
    await engine.stop()
  })

  it('triggering with an existing run id returns that run', async () => {
    const wf = workflow.create({ id: 'idem', run: async ({ input }) => input })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const a = await engine.trigger(wf, 'first', { id: 'same' })
    await engine.settle()
    const b = await engine.trigger(wf, 'second', { id: 'same' })
    await engine.settle()
    expect(b.id).toBe(a.id)
    await expect(b.result()).resolves.toBe('first')
    await engine.stop()
  })

  it('a Datastore outage pauses runs, which resume when it returns', async () => {
    const clock = virtualClock()
    const { store, control } = recordingStore(memoryStore({ now: clock.now }))
    let ran = 0
    const wf = workflow.create({
      id: 'patient',
      async run({ step }) {
        await step.run('once', () => ++ran)
        await step.sleep('1m')
        return 'done'
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, clock })
    const errors: string[] = []
    engine.hooks.on('error', (e) => void errors.push(e.error.name))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    control.down = true
    await engine.advance('1m')
    await engine.advance('1m')
    expect(errors).toContain('StoreError')
    control.down = false
    await engine.advance('10s')
    await expect(run.result()).resolves.toBe('done')
    expect(ran).toBe(1)
    await engine.stop()
  })

  it('engines in several processes share the runs on one SQLite file, each step running once', async () => {
    const path = join(tempDir('do-docs-'), 'runs.db')
    const ran = new Map<string, number>()
    const wf = workflow.create({
      id: 'shared',
      async run({ step, runId }) {
        for (const name of ['a', 'b'])
          await step.run(name, () => {
            ran.set(`${runId}:${name}`, (ran.get(`${runId}:${name}`) ?? 0) + 1)
          })
        return runId
      },
    })
    const opts = { workflows: [wf], logger: silentLogger, keepAlive: false, pollInterval: 20 }
    const stores = [sqliteStore({ path }), sqliteStore({ path }), sqliteStore({ path })]
    const [a, b, client] = stores.map((store) => createEngine({ store, ...opts })) as [
      ReturnType<typeof createEngine>,
      ReturnType<typeof createEngine>,
      ReturnType<typeof createEngine>,
    ]
    await a.start()
    await b.start()
    // The client only stores runs (it is not started): the two started engines share them.
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => client.trigger(wf, undefined, { id: `shared:${i}` })))
    await expect(Promise.all(runs.map((r) => r.result()))).resolves.toEqual(runs.map((r) => r.id))
    expect([...ran.values()].every((n) => n === 1)).toBe(true)
    expect(ran.size).toBe(16)
    await a.stop()
    await b.stop()
    for (const s of stores) await s.close?.()
  })
})
