// Typed signals (`workflow.create({ signals })`) at run time: engine.signal refuses an undeclared name
// or a bad payload before anything is written; step.waitForEvent parses the payload with the
// declared schema. The compile-time side is in test/types/typed-api.ts.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { virtualClock } from '../../src/engine/clock.js'
import { type Datastore, InvalidArgumentError, ValidationError, workflow } from '../../src/index.js'
import { newStore, testEngine } from './fixtures.js'

const makeOnboarding = () =>
  workflow.create({
    id: 'typed-onboarding',
    input: z.object({ userId: z.string() }),
    state: z.object({ status: z.enum(['waiting', 'clicked', 'timed-out']) }),
    initialState: () => ({ status: 'waiting' }),
    signals: {
      'email.clicked': z.object({ at: z.number() }),
      // Parsed when the run takes it, not when it is sent: stored as sent, so the transform runs once.
      'code.entered': z.string().transform((code) => code.length),
    },
    async run({ step }) {
      const click = await step.waitForEvent('email.clicked', { timeout: '3d' })
      await step.setState({ status: click ? 'clicked' : 'timed-out' })
      const length = await step.waitForEvent('code.entered')
      return { at: click?.at ?? null, length }
    },
  })

/** The signal entries stored for a run (any incarnation; see keys.signal). */
const storedSignals = async (store: Datastore, runId: string) => (await store.list(`sig/${runId}!`)).length

describe('typed signals', () => {
  it('delivers a declared signal sent with a typed handle, and parses each payload with its schema when the run takes it', async () => {
    const onboarding = makeOnboarding()
    const engine = testEngine({ workflows: [onboarding] })
    await engine.start()
    const run = await engine.trigger(onboarding, { userId: 'u1' })
    await engine.settle()
    expect(await engine.signal(run, 'email.clicked', { at: 42 })).toBe(true)
    await engine.settle()
    expect(await engine.signal(engine.handle(run.id, onboarding), 'code.entered', 'abcd')).toBe(true)
    await engine.settle()
    expect(await run.result()).toEqual({ at: 42, length: 4 })
    await engine.stop()
  })

  it('refuses a bad payload with a ValidationError naming the signal and the run; nothing is written', async () => {
    const onboarding = makeOnboarding()
    const clock = virtualClock()
    const store = newStore(clock)
    const engine = testEngine({ workflows: [onboarding], store, clock })
    await engine.start()
    const run = await engine.trigger(onboarding, { userId: 'u1' }, { id: 'typed:bad-payload' })
    await engine.settle()
    const error = await engine.signal(run.id, 'email.clicked', { at: 'now' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).message).toMatch(/payload of signal "email\.clicked" to run "typed:bad-payload"/)
    expect((error as ValidationError).issues[0]?.path).toEqual(['at'])
    expect(await storedSignals(store, run.id)).toBe(0)
    // The run still waits, and the next good signal is the one it gets.
    expect((await engine.getRun(run.id)).status).toBe('waiting')
    await engine.signal(run, 'email.clicked', { at: 7 })
    await engine.settle()
    expect((await engine.getRun(run.id, onboarding)).state.status).toBe('clicked')
    await engine.stop()
  })

  it('refuses a name the workflow does not declare with an InvalidArgumentError listing the declared ones', async () => {
    const onboarding = makeOnboarding()
    const clock = virtualClock()
    const store = newStore(clock)
    const engine = testEngine({ workflows: [onboarding], store, clock })
    await engine.start()
    const run = await engine.trigger(onboarding, { userId: 'u1' })
    await engine.settle()
    const error = await engine.signal(run.id, 'email.opened', {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidArgumentError)
    expect((error as Error).message).toBe(
      '[do-sdk] Workflow "typed-onboarding" declares no signal "email.opened" (it declares "email.clicked", "code.entered")',
    )
    // A name inherited from Object.prototype is no declared signal either.
    await expect(engine.signal(run.id, 'toString', {})).rejects.toThrow(InvalidArgumentError)
    expect(await storedSignals(store, run.id)).toBe(0)
    await engine.stop()
  })

  it('checks the payload even when the run has finished', async () => {
    const quick = workflow.create({ id: 'typed-quick', signals: { go: z.object({ n: z.number() }) }, async run() {} })
    const engine = testEngine({ workflows: [quick] })
    await engine.start()
    const run = await engine.trigger(quick, undefined)
    await engine.settle()
    await expect(engine.signal(run, 'go', { n: 1 })).resolves.toBe(false)
    await expect(engine.signal(run.id, 'go', { n: 'one' })).rejects.toThrow(ValidationError)
    await engine.stop()
  })

  it('a bad payload stored by an engine without the workflow fails the wait with a ValidationError', async () => {
    const onboarding = makeOnboarding()
    const clock = virtualClock()
    const store = newStore(clock)
    const engine = testEngine({ workflows: [onboarding], store, clock })
    await engine.start()
    const run = await engine.trigger(onboarding, { userId: 'u1' })
    await engine.settle()
    // A process that only sends signals (no workflows registered) cannot check them: it stores them.
    const sender = testEngine({ store, clock })
    expect(await sender.signal(run.id, 'email.clicked', { at: 'now' })).toBe(true)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.name).toBe('ValidationError')
    expect(info.error?.message).toMatch(/payload of event "email\.clicked"/)
    await engine.stop()
  })

  it('a workflow declaring signals refuses to wait for another name (the run fails, naming it)', async () => {
    const odd = workflow.create({
      id: 'typed-odd',
      signals: { go: z.object({}) },
      async run({ step }) {
        // A cast around the compile-time check.
        await (step.waitForEvent as (name: string) => Promise<unknown>)('stop')
      },
    })
    const engine = testEngine({ workflows: [odd] })
    await engine.start()
    const run = await engine.trigger(odd, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.message).toMatch(/Workflow "typed-odd" declares no signal "stop"/)
    await engine.stop()
  })

  it('workflows without signals keep any name and any payload', async () => {
    const loose = workflow.create({
      id: 'typed-loose',
      async run({ step }) {
        return [await step.waitForEvent('anything'), await step.waitForEvent('n', { schema: z.number() })]
      },
    })
    const engine = testEngine({ workflows: [loose] })
    await engine.start()
    const run = await engine.trigger(loose, undefined)
    await engine.signal(run, 'anything', { free: ['form'] })
    await engine.signal(run.id, 'n', 5)
    await engine.settle()
    expect(await run.result()).toEqual([{ free: ['form'] }, 5])
    await engine.stop()
  })
})

describe('typed getRun, handle and retry', () => {
  it('getRun(runId, workflow) checks that the run is a run of that workflow', async () => {
    const onboarding = makeOnboarding()
    const other = workflow.create({ id: 'typed-other', async run() {} })
    const engine = testEngine({ workflows: [onboarding, other] })
    await engine.start()
    const run = await engine.trigger(onboarding, { userId: 'u1' })
    await engine.settle()
    const info = await engine.getRun(run.id, onboarding)
    expect(info.input.userId).toBe('u1')
    expect(info.state.status).toBe('waiting')
    await expect(engine.getRun(run.id, other)).rejects.toThrow(
      new InvalidArgumentError(`Run "${run.id}" is a run of workflow "typed-onboarding", not of "typed-other"`),
    )
    const handle = engine.handle(run.id, onboarding)
    expect({ id: handle.id, workflowId: handle.workflowId }).toEqual({ id: run.id, workflowId: 'typed-onboarding' })
    expect(await handle.status()).toBe('waiting')
    await engine.stop()
  })

  it('retry(runId, workflow) returns a handle whose result is the run output', async () => {
    let failures = 1
    const flaky = workflow.create({
      id: 'typed-flaky',
      output: z.object({ ok: z.boolean() }),
      async run({ step }) {
        await step.run(
          'once',
          () => {
            if (failures-- > 0) throw new Error('not yet')
            return 1
          },
          { retry: false },
        )
        return { ok: true }
      },
    })
    const engine = testEngine({ workflows: [flaky] })
    await engine.start()
    const run = await engine.trigger(flaky, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('failed')
    const again = await engine.retry(run.id, flaky)
    await engine.settle()
    expect(await again.result()).toEqual({ ok: true })
    await engine.stop()
  })
})

describe('workflow.create({ signals })', () => {
  it('refuses signals that are not a map of zod schemas, or reserved names', () => {
    const run = async () => {}
    const create = (signals: unknown) => () => workflow.create({ id: 'typed-bad', signals: signals as never, run })
    expect(create([])).toThrow('Workflow "typed-bad": signals must be an object { name: zodSchema }')
    expect(create({ go: { parse: () => 1 } })).toThrow('Workflow "typed-bad": signal "go" needs a zod schema')
    expect(create({ $cancel: z.object({}) })).toThrow(/invalid signal name "\$cancel"/)
    expect(create({ '': z.object({}) })).toThrow(/invalid signal name ""/)
    const wf = workflow.create({ id: 'typed-good', signals: { go: z.object({}) }, run })
    expect(Object.keys(wf.signalSchemas ?? {})).toEqual(['go'])
    expect(Object.isFrozen(wf.signalSchemas)).toBe(true)
    expect(workflow.create({ id: 'typed-none', run }).signalSchemas).toBeUndefined()
  })
})
