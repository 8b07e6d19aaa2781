// docs/guides/state.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { action, memoryStore, RunNotFoundError, workflow } from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { recordingStore } from './helpers.js'

const trialState = z.object({
  plan: z.enum(['trial', 'pro', 'expired']),
  reminders: z.number().int(),
  lastReminderAt: z.date().nullable(),
})

describe('Example', () => {
  it('the trial example: patches, the live state, step.store and the upgrade signal', async () => {
    const seen: number[] = []
    const trial = workflow.create({
      id: 'trial',
      input: z.object({ accountId: z.string() }),
      state: trialState,
      initialState: () => ({ plan: 'trial' as const, reminders: 0, lastReminderAt: null }),
      async run({ input, state, step }) {
        await step.setState({ lastReminderAt: new Date(await step.now()) })
        await step.setState((s) => ({ ...s, reminders: s.reminders + 1 }))
        seen.push(state.reminders)
        await step.store.set(`accounts/${input.accountId}`, { plan: state.plan }, { ttl: '30d' })
        const upgrade = await step.waitForEvent<{ plan: 'pro' }>('upgraded', { timeout: '14d' })
        const next = await step.setState({ plan: upgrade ? 'pro' : 'expired' })
        await step.store.set(`accounts/${input.accountId}`, { plan: next.plan })
        return next
      },
    })
    const engine = createTestEngine({ workflows: [trial] })
    await engine.start()
    const run = await engine.trigger(trial, { accountId: 'acc_1' }, { id: 'trial:acc_1' })
    await engine.settle()
    expect(seen).toEqual([1])
    const info = await engine.getRun<unknown, z.infer<typeof trialState>>(run.id)
    expect(info.status).toBe('waiting')
    expect(info.state).toEqual({ plan: 'trial', reminders: 1, lastReminderAt: new Date(engine.clock.now()) })
    expect(info.state.lastReminderAt).toBeInstanceOf(Date)
    expect(await engine.kv.get('accounts/acc_1')).toEqual({ plan: 'trial' })
    await engine.signal(run.id, 'upgraded', { plan: 'pro' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ plan: 'pro', reminders: 1, lastReminderAt: info.state.lastReminderAt })
    expect(await engine.kv.get('accounts/acc_1')).toEqual({ plan: 'pro' })
    await engine.stop()
  })
})

describe('The state record', () => {
  it('a run without initialState starts with an empty state', async () => {
    const wf = workflow.create({ id: 'blank', run: async ({ state }) => ({ ...state }) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    expect((await engine.getRun(run.id)).state).toEqual({})
    await engine.settle()
    await expect(run.result()).resolves.toEqual({})
    await engine.stop()
  })

  it('initialState gives a new run its state', async () => {
    const wf = workflow.create({
      id: 'seeded',
      input: z.object({ userId: z.string() }),
      initialState: ({ userId }) => ({ userId, status: 'registered' }),
      run: async ({ state }) => ({ ...state }),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, { userId: 'u1' })
    expect((await engine.getRun(run.id)).state).toEqual({ userId: 'u1', status: 'registered' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ userId: 'u1', status: 'registered' })
    await engine.stop()
  })

  it('on replay, state at each point of run is what it was there the first time', async () => {
    const passes: string[][] = []
    const wf = workflow.create({
      id: 'replayed-state',
      initialState: () => ({ n: 0 }),
      async run({ state, step }) {
        const pass: string[] = []
        passes.push(pass)
        pass.push(JSON.stringify(state))
        await step.setState({ n: 1 })
        pass.push(JSON.stringify(state))
        await step.sleep('1m')
        pass.push(JSON.stringify(state))
        await step.setState((s) => ({ n: s.n + 1 }))
        pass.push(JSON.stringify(state))
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    await engine.advance('1m')
    expect(passes).toHaveLength(3)
    expect(passes[2]).toEqual(passes[1])
    expect(passes[1]).toEqual(['{"n":0}', '{"n":1}', '{"n":1}', '{"n":2}'])
    await engine.stop()
  })

  it('setState(patch) merges the patch into the state, shallow', async () => {
    const wf = workflow.create({
      id: 'shallow',
      initialState: () => ({ a: 1, nested: { x: 1, y: 2 } }),
      run: ({ step }) => step.setState({ nested: { x: 9 } } as never),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ a: 1, nested: { x: 9 } })
    await engine.stop()
  })

  it('setState(fn) gets a copy of the state and returns the whole new one', async () => {
    const wf = workflow.create({
      id: 'whole',
      initialState: () => ({ a: 1, b: 2 }),
      async run({ state, step }) {
        let during: unknown
        const next = await step.setState((copy) => {
          copy.a = 100 // a copy: the live state does not change until the step commits
          during = { ...state }
          return { a: copy.a } as never
        })
        return { during, next, live: { ...state } }
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ during: { a: 1, b: 2 }, next: { a: 100 }, live: { a: 100 } })
    await engine.stop()
  })

  it('setState resolves with the new state as parsed by the schema', async () => {
    const wf = workflow.create({
      id: 'parsed',
      state: z.object({ name: z.string().transform((s) => s.trim()), tags: z.array(z.string()).default([]) }),
      initialState: () => ({ name: 'x', tags: [] }),
      run: ({ step }) => step.setState({ name: '  Ana  ', tags: undefined } as never),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ name: 'Ana', tags: [] })
    expect((await engine.getRun(run.id)).state).toEqual({ name: 'Ana', tags: [] })
    await engine.stop()
  })

  it('a refused setState leaves the state as it was', async () => {
    const wf = workflow.create({
      id: 'refused',
      state: z.object({ count: z.number().int() }),
      initialState: () => ({ count: 1 }),
      async run({ state, step }) {
        await step.setState({ count: 2 })
        const error = await step.setState({ count: 2.5 }).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        )
        return { code: error?.code, live: { ...state } }
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ code: 'ERR_VALIDATION', live: { count: 2 } })
    expect((await engine.getRun(run.id)).state).toEqual({ count: 2 })
    await engine.stop()
  })

  // Fails until a replayed failed setState stops emptying the live state (steps/once.ts): see the report.
  it('on replay too, a refused setState leaves the live state as it was', async () => {
    const wf = workflow.create({
      id: 'refused-then-replayed',
      state: z.object({ count: z.number().int() }),
      initialState: () => ({ count: 1 }),
      async run({ state, step }) {
        await step.setState({ count: 2 })
        await step.setState({ count: 2.5 }).catch(() => {})
        const live = { ...state }
        await step.sleep('1m')
        return live
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    await expect(run.result()).resolves.toEqual({ count: 2 })
    await engine.stop()
  })

  it('a refused setState is journaled as a failed step and replays as the same failure', async () => {
    let validations = 0
    const wf = workflow.create({
      id: 'refused-replay',
      state: z.object({
        count: z.number().refine((n) => {
          validations++
          return n < 10
        }),
      }),
      initialState: () => ({ count: 1 }),
      async run({ step }) {
        const caught = await step.setState({ count: 99 }).then(
          () => 'accepted',
          (e: Error & { code?: string }) => `${e.name} ${e.code}`,
        )
        await step.sleep('1m')
        return caught
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const step = (await engine.getRun(run.id)).steps[0]
    expect(step).toMatchObject({ id: 'setState#1', kind: 'state', status: 'failed', error: { code: 'ERR_VALIDATION' } })
    const checked = validations
    await engine.advance('1m') // the replay takes the failure from the journal: no new check of the patch
    await expect(run.result()).resolves.toBe('ValidationError ERR_VALIDATION')
    expect(validations).toBe(checked + 1) // only the initial state, parsed again as the run resumes
    await engine.stop()
  })

  it('an uncaught refused setState fails the run with its ValidationError', async () => {
    const wf = workflow.create({
      id: 'refused-uncaught',
      state: z.object({ email: z.string().email() }),
      initialState: () => ({ email: 'a@example.com' }),
      run: ({ step }) => step.setState({ email: 'nope' }),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error).toMatchObject({ name: 'ValidationError', code: 'ERR_VALIDATION' })
    expect(info.state).toEqual({ email: 'a@example.com' })
    await engine.stop()
  })

  it('setState refuses a patch or a new state with an own __proto__, constructor or prototype key', async () => {
    const wf = workflow.create({
      id: 'unsafe-keys',
      initialState: () => ({ ok: true }),
      async run({ step, state }) {
        const codes: (string | undefined)[] = []
        const attempt = (p: Promise<unknown>) =>
          p.then(
            () => codes.push('accepted'),
            (e: { code?: string }) => codes.push(e.code),
          )
        await attempt(step.setState(JSON.parse('{"__proto__": {"polluted": true}}')))
        await attempt(step.setState({ constructor: 'x' } as never))
        await attempt(step.setState(() => JSON.parse('{"prototype": 1}')))
        return { codes, state: { ...state }, polluted: ({} as { polluted?: boolean }).polluted }
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({
      codes: ['ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT'],
      state: { ok: true },
      polluted: undefined,
    })
    await engine.stop()
  })

  it('after a crash before the setState commit, the store shows neither the new state nor its entry', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = workflow.create({
      id: 'crashy-state',
      initialState: () => ({ v: 'old' }),
      async run({ step }) {
        await step.setState({ v: 'new' })
        await step.sleep('1m')
      },
    })
    const first = createTestEngine({ workflows: [wf], store, clock, engineId: 'app', crashBeforeCommit: 'setState#1' })
    await first.start()
    await first.trigger(wf, undefined, { id: 'cs' })
    await first.settle()
    expect(first.crashed).toBe(true)
    const reader = createTestEngine({ workflows: [wf], store, clock }) // not started: reads only
    const after = await reader.getRun('cs')
    expect(after.state).toEqual({ v: 'old' })
    expect(after.steps).toEqual([])
    const second = createTestEngine({ workflows: [wf], store, clock, engineId: 'app' })
    await second.start()
    await second.settle()
    const info = await second.getRun('cs')
    expect(info.state).toEqual({ v: 'new' })
    expect(info.steps.map((s) => s.id)).toEqual(['setState#1', 'sleep#1'])
    await second.stop()
  })

  it('getRun, listRuns and the state:change hook show the state from outside, state:change not on replay', async () => {
    const wf = workflow.create({
      id: 'observed',
      initialState: () => ({ n: 0 }),
      async run({ step }) {
        await step.setState({ n: 1 })
        await step.sleep('1m')
        await step.setState({ n: 2 })
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    const changes: unknown[] = []
    engine.hooks.on('state:change', (e) => void changes.push({ stepId: e.stepId, state: e.state, previous: e.previous }))
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).state).toEqual({ n: 1 })
    expect((await engine.listRuns({ workflowId: 'observed' })).runs[0]?.state).toEqual({ n: 1 })
    await engine.advance('1m')
    expect(changes).toEqual([
      { stepId: 'setState#1', state: { n: 1 }, previous: { n: 0 } },
      { stepId: 'setState#2', state: { n: 2 }, previous: { n: 1 } },
    ])
    await engine.stop()
  })

  // Fails until Execution.start parses (and redacts) the initial state as engine.trigger does: see the report.
  it('before the first setState, state holds the initial state as the schema parsed it', async () => {
    const wf = workflow.create({
      id: 'defaults',
      state: z.object({ tags: z.array(z.string()).default(['new']), secret: z.string() }),
      initialState: () => ({ secret: 'hunter2' }) as never,
      run: async ({ state }) => ({ ...state }),
    })
    const engine = createTestEngine({ workflows: [wf], redact: ['secret'] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    const stored = (await engine.getRun(run.id)).state
    expect(stored).toEqual({ tags: ['new'], secret: '[redacted]' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual(stored)
    await engine.stop()
  })
})

describe('Datastore values', () => {
  it('step.store.get records the value read, so a replay gets the same value even if the key changed', async () => {
    const wf = workflow.create({
      id: 'reads',
      async run({ step }) {
        const recorded = await step.store.get<string>('flag')
        await step.sleep('1m')
        return recorded
      },
    })
    const e = createTestEngine({ workflows: [wf] })
    await e.kv.set('flag', 'before')
    await e.start()
    const run = await e.trigger(wf, undefined)
    await e.settle()
    await e.kv.set('flag', 'after')
    await e.advance('1m')
    await expect(run.result()).resolves.toBe('before')
    await e.stop()
  })

  it('step.store.set is written in the same batch as its journal entry', async () => {
    const { store, control } = recordingStore(memoryStore())
    const wf = workflow.create({
      id: 'writes',
      async run({ step }) {
        await step.store.set('greeting', 'hello')
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    const batch = control.batches.find((ops) => ops.some((o) => o.key === 'kv/greeting'))
    expect(batch?.some((o) => o.op === 'set' && o.key.startsWith('jrn/') && o.value.includes('"store.set:greeting#1"'))).toBe(true)
    await engine.stop()
  })

  it('step.store.get resolves undefined when the key is absent or expired', async () => {
    const wf = workflow.create({
      id: 'absent',
      async run({ step }) {
        const absent = await step.store.get('nothing')
        await step.store.set('short', 1, { ttl: '1m' })
        await step.sleep('2m')
        const expired = await step.store.get('short')
        return { absent, expired }
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('2m')
    await expect(run.result()).resolves.toEqual({ absent: undefined, expired: undefined })
    await engine.stop()
  })

  it('step.store.set ttl counts from the step, on the engine clock', async () => {
    const wf = workflow.create({
      id: 'ttl',
      async run({ step }) {
        await step.sleep('1h')
        await step.store.set('session', 'abc', { ttl: '30m' })
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1h') // the step runs now, an hour in
    expect(await engine.kv.get('session')).toBe('abc')
    await engine.advance('29m')
    expect(await engine.kv.get('session')).toBe('abc')
    await engine.advance('1m')
    expect(await engine.kv.get('session')).toBeUndefined()
    await engine.stop()
  })

  it('step.store.delete resolves true when the key existed', async () => {
    const wf = workflow.create({
      id: 'deletes',
      async run({ step }) {
        return [await step.store.delete('k'), await step.store.delete('k')]
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.kv.set('k', 1)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual([true, false])
    await engine.stop()
  })

  it('step.store steps get the ids store.get:<key>#n, store.set:<key>#n and store.delete:<key>#n', async () => {
    const wf = workflow.create({
      id: 'store-ids',
      async run({ step }) {
        await step.store.get('a')
        await step.store.get('a')
        await step.store.set('a', 1)
        await step.store.delete('a')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).steps.map((s) => s.id)).toEqual([
      'store.get:a#1',
      'store.get:a#2',
      'store.set:a#1',
      'store.delete:a#1',
    ])
    await engine.stop()
  })

  it('the engine.kv example: set with ttl, get, update, list and delete', async () => {
    const engine = createTestEngine()
    await engine.kv.set('feature-flags', { newCheckout: true }, { ttl: '1h' })
    expect(await engine.kv.get('feature-flags')).toEqual({ newCheckout: true })
    expect(await engine.kv.update<number>('signups:2030-01-01', (n) => (n ?? 0) + 1)).toBe(1)
    expect(await engine.kv.update<number>('signups:2030-01-01', (n) => (n ?? 0) + 1)).toBe(2)
    await engine.kv.set('signups:2030-01-02', 5)
    expect(await engine.kv.list<number>('signups:', { limit: 100 })).toEqual([
      { key: 'signups:2030-01-01', value: 2 },
      { key: 'signups:2030-01-02', value: 5 },
    ])
    expect(await engine.kv.delete('feature-flags')).toBe(true)
    expect(await engine.kv.get('feature-flags')).toBeUndefined()
    await engine.kv.set('feature-flags', 1, { ttl: '1h' })
    engine.clock.advance(3_600_000)
    expect(await engine.kv.get('feature-flags')).toBeUndefined()
  })

  it('kv.update returns what fn returned, and returning undefined deletes the key', async () => {
    const engine = createTestEngine()
    expect(await engine.kv.update('k', () => 'v')).toBe('v')
    expect(await engine.kv.update('k', () => undefined)).toBeUndefined()
    expect(await engine.kv.get('k')).toBeUndefined()
  })

  it('kv.update throws a ConflictError after maxAttempts lost races', async () => {
    const engine = createTestEngine()
    let calls = 0
    const racing = engine.kv.update<number>(
      'contended',
      (n) => {
        calls++
        void engine.kv.set('contended', 1000 + calls) // another writer wins every race
        return (n ?? 0) + 1
      },
      { maxAttempts: 3 },
    )
    await expect(racing).rejects.toMatchObject({ code: 'ERR_CONFLICT' })
    expect(calls).toBe(3)
  })

  it('kv.list pages in key order with after set to the last key seen', async () => {
    const engine = createTestEngine()
    for (const k of ['c', 'a', 'b', 'd']) await engine.kv.set(`p:${k}`, k)
    const first = await engine.kv.list('p:', { limit: 2 })
    const second = await engine.kv.list('p:', { limit: 2, after: first.at(-1)?.key })
    expect([...first, ...second].map((e) => e.key)).toEqual(['p:a', 'p:b', 'p:c', 'p:d'])
  })

  it('kv keys are 1 to 1000 characters', async () => {
    const engine = createTestEngine()
    await expect(engine.kv.set('', 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(engine.kv.get('x'.repeat(1001))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await engine.kv.set('x'.repeat(1000), 1)
    expect(await engine.kv.get('x'.repeat(1000))).toBe(1)
  })

  it('engine.kv cannot reach the engine own records', async () => {
    const wf = workflow.create({ id: 'quiet', run: async () => 1 })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'r1' })
    await engine.settle()
    await engine.kv.set('mine', 1)
    expect((await engine.kv.list('')).map((e) => e.key)).toEqual(['mine'])
    expect(await engine.kv.get('run/r1')).toBeUndefined()
    await engine.stop()
  })
})

describe('What can be stored', () => {
  it('step results round-trip Date, BigInt, Map, Set, Error, Uint8Array, undefined, NaN, Infinity and -0', async () => {
    const value = {
      date: new Date(0),
      big: 10n ** 20n,
      map: new Map([['a', 1]]),
      set: new Set([1, 2]),
      error: new Error('boom'),
      bytes: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from('hi'),
      nothing: undefined,
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      negZero: -0,
    }
    const wf = workflow.create({
      id: 'types',
      async run({ step }) {
        const first = await step.run('make', () => value)
        await step.sleep('1m')
        return first
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1m')
    const out = (await run.result()) as typeof value
    expect(out.date).toEqual(new Date(0))
    expect(out.big).toBe(10n ** 20n)
    expect(out.map).toEqual(new Map([['a', 1]]))
    expect(out.set).toEqual(new Set([1, 2]))
    expect(out.error).toBeInstanceOf(Error)
    expect(out.error.message).toBe('boom')
    expect(out.bytes).toEqual(new Uint8Array([1, 2, 3]))
    expect(out.buffer).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(out.buffer).toString()).toBe('hi')
    expect('nothing' in out && out.nothing === undefined).toBe(true)
    expect(out.nan).toBeNaN()
    expect(out.inf).toBe(Number.NEGATIVE_INFINITY)
    expect(Object.is(out.negZero, -0)).toBe(true)
    await engine.stop()
  })

  it('functions, symbols, cycles and class instances are refused with a SerializationError naming the field', async () => {
    class Client {
      x = 1
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const wf = workflow.create({
      id: 'unstorable',
      async run({ step }) {
        const errors: string[] = []
        const tryIt = (p: Promise<unknown>) =>
          p.then(
            () => errors.push('stored'),
            (e: Error & { code?: string }) => errors.push(`${e.code} ${e.message}`),
          )
        await tryIt(step.setState({ customer: { client: new Client() } }))
        await tryIt(step.run('fn', () => ({ f: () => 1 })))
        await tryIt(step.run('sym', () => ({ s: Symbol('x') })))
        await tryIt(step.run('cycle', () => cyclic))
        return errors
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const errors = (await run.result()) as string[]
    expect(errors).toHaveLength(4)
    for (const e of errors) expect(e).toMatch(/^ERR_SERIALIZATION /)
    expect(errors[0]).toContain('state.customer.client')
    await engine.stop()
  })
})

describe('Rules', () => {
  it('assigning to state directly is not stored until the next setState merges the object as it is', async () => {
    const wf = workflow.create({
      id: 'direct',
      initialState: () => ({ a: 1 }) as Record<string, number>,
      async run({ state, step }) {
        state.b = 2 // not a step
        await step.sleep('1m')
        await step.setState({ c: 3 })
        await step.sleep('1m')
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).state).toEqual({ a: 1 })
    await engine.advance('1m')
    expect((await engine.getRun(run.id)).state).toEqual({ a: 1, b: 2, c: 3 })
    await engine.stop()
  })

  it('a state past limits.stateBytes is refused with a SizeLimitError', async () => {
    const wf = workflow.create({
      id: 'big',
      initialState: () => ({ blob: '' }),
      run: ({ step }) => step.setState({ blob: 'x'.repeat(500) }),
    })
    const engine = createTestEngine({ workflows: [wf], limits: { stateBytes: 200 } })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.error?.code).toBe('ERR_SIZE_LIMIT')
    expect(info.state).toEqual({ blob: '' })
    await engine.stop()
  })

  it('redacted fields are stored as [redacted] in state, input, output, step results, signals and kv values', async () => {
    const { store } = recordingStore(memoryStore())
    const wf = workflow.create({
      id: 'secrets',
      async run({ input, state, step }) {
        const fromStep = await step.run('login', () => ({ token: 'step-secret' }))
        const signal = await step.waitForEvent<{ token: string }>('otp')
        await step.setState({ token: 'state-secret' })
        await step.store.set('cred', { token: 'store-secret' })
        return { input, fromStep, signal, state: { ...state }, token: 'output-secret' }
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, redact: ['token'] })
    await engine.start()
    const run = await engine.trigger(wf, { token: 'input-secret' })
    await engine.settle()
    await engine.signal(run.id, 'otp', { token: 'signal-secret' })
    await engine.kv.set('other', { token: 'kv-secret' })
    await engine.settle()
    const r = '[redacted]'
    await expect(run.result()).resolves.toEqual({
      input: { token: r },
      fromStep: { token: r },
      signal: { token: r },
      state: { token: r },
      token: r,
    })
    expect((await engine.getRun(run.id)).state).toEqual({ token: r })
    expect(await engine.kv.get('cred')).toEqual({ token: r })
    expect(await engine.kv.get('other')).toEqual({ token: r })
    expect(JSON.stringify(await store.list(''))).not.toContain('secret"')
    await engine.stop()
  })

  it('redaction covers hook payloads too, but not a secret inside an error message', async () => {
    const apiKey = 'sk_live_123' // the action's own secret, from its configuration
    const login = action.create({
      id: 'login',
      description: 'Logs in.',
      retry: false,
      execute: async (input: { user: string; password: string }) => {
        if (input.password !== 'right') throw new Error(`login of ${input.user} with key ${apiKey} refused`)
        return { ok: true }
      },
    })
    const wf = workflow.create({ id: 'logins', run: ({ input, step }) => step.run(login, input as { user: string; password: string }) })
    const engine = createTestEngine({ workflows: [wf], redact: ['password'] })
    const payloads: unknown[] = []
    engine.hooks.on('workflow:start', (e) => void payloads.push(e.input))
    engine.hooks.on('action:start', (e) => void payloads.push(e.input))
    await engine.start()
    const run = await engine.trigger(wf, { user: 'ana', password: 'hunter2' })
    await engine.settle()
    expect(payloads).toEqual([
      { user: 'ana', password: '[redacted]' },
      { user: 'ana', password: '[redacted]' },
    ])
    expect((await engine.getRun(run.id)).error?.message).toBe('login of ana with key sk_live_123 refused')
    await engine.stop()
  })

  it('engine.kv read inside run is not recorded, so a replay may see another value', async () => {
    const wf = workflow.create({
      id: 'unrecorded',
      async run({ step }) {
        const seen = await e.kv.get<string>('mode') // not a step: read again on replay
        await step.sleep('1m')
        return seen
      },
    })
    const e = createTestEngine({ workflows: [wf] })
    await e.kv.set('mode', 'a')
    await e.start()
    const run = await e.trigger(wf, undefined)
    await e.settle()
    await e.kv.set('mode', 'b')
    await e.advance('1m')
    await expect(run.result()).resolves.toBe('b')
    await e.stop()
  })
})

describe('Edge cases', () => {
  it('changing the state schema does not re-check states already committed', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const define = (schema: z.ZodType) =>
      workflow.create({
        id: 'schema-change',
        state: schema,
        initialState: () => ({ n: 1 }),
        async run({ step, state }) {
          await step.setState({ n: 2 })
          await step.sleep('1m')
          return { ...state }
        },
      })
    const first = createTestEngine({ workflows: [define(z.object({ n: z.number() }))], store, clock })
    await first.start()
    const run = await first.trigger(define(z.object({ n: z.number() })), undefined)
    await first.settle()
    await first.stop()
    const stricter = define(z.object({ n: z.number().max(1) }))
    const second = createTestEngine({ workflows: [stricter], store, clock })
    await second.start()
    await second.advance('1m')
    await expect(second.handle(run.id, 'schema-change').result()).resolves.toEqual({ n: 2 })
    await second.stop()
  })

  it('kv and step.store values outlive the run retention', async () => {
    const wf = workflow.create({ id: 'leaves-a-value', run: ({ step }) => step.store.set('kept', 'yes') })
    const engine = createTestEngine({ workflows: [wf], retention: '1h' })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('2h')
    await expect(engine.getRun(run.id)).rejects.toBeInstanceOf(RunNotFoundError)
    expect(await engine.kv.get('kept')).toBe('yes')
    await engine.stop()
  })
})
