/**
 * Type tests of the public API, checked by `tsc -p packages/core/tsconfig.json` (core's typecheck,
 * which `pnpm test` runs). Nothing here is executed.
 *
 * Every `// @ts-expect-error` line must be a type error: if the line below it compiles, tsc fails
 * with TS2578 "Unused '@ts-expect-error' directive" (the types let that mistake through). Lines
 * without a directive must compile. The same holes are checked from the packed tarballs by
 * scripts/pack-check/app/type-tests.ts.
 */
import { z } from 'zod'
import {
  createEngine,
  type Duration,
  type Engine,
  memoryStore,
  parseDuration,
  type RunHandle,
  type RunInfo,
  type SignalName,
  type SignalPayload,
  toMs,
  type Workflow,
  type WorkflowSignals,
  workflow,
} from '../../src/index.js'
import { createTestEngine } from '../../src/testing/index.js'

declare const engine: Engine
declare const runId: string
declare const someString: string

// --- 1. The output schema constrains what `run` returns -------------------------------------------

const summary = workflow.create({
  id: 'summary',
  input: z.object({ userId: z.string() }),
  output: z.object({ total: z.number(), note: z.string().default('') }),
  async run({ input }) {
    // The output schema's *input* type: `note` has a default, so it may be left out.
    return { total: input.userId.length }
  },
})
workflow.create({
  id: 'wrong-output',
  output: z.object({ total: z.number() }),
  // @ts-expect-error run returns a string where the output schema wants a number
  async run() {
    return { total: 'three' }
  },
})
workflow.create({
  id: 'missing-output',
  output: z.object({ total: z.number() }),
  // @ts-expect-error run's return lacks a field the output schema requires
  async run() {
    return {}
  },
})
// Without an output schema, the output type is what run returns.
const free = workflow.create({
  id: 'free',
  async run() {
    return { n: 1 }
  },
})

// --- 2. initialState typed by the state schema, without `as const` --------------------------------

const onboarding = workflow.create({
  id: 'onboarding',
  input: z.object({ userId: z.string(), email: z.string() }),
  state: z.object({ userId: z.string(), status: z.enum(['registered', 'email_sent', 'active']), tags: z.array(z.string()) }),
  initialState: ({ userId }) => ({ userId, status: 'registered', tags: [] }),
  signals: {
    'email.clicked': z.object({ at: z.number() }),
    'profile.done': z.object({ fields: z.array(z.string()) }).optional(),
  },
  output: z.object({ clicked: z.boolean() }),
  async run({ input, state, step }) {
    const status: 'registered' | 'email_sent' | 'active' = state.status
    await step.setState({ status: 'email_sent' })
    // @ts-expect-error setState checks the enum
    await step.setState({ status: 'gone' })

    // --- 4. typed signals inside the workflow ---
    const click = await step.waitForEvent('email.clicked', { timeout: '3d' })
    const at: number | undefined = click?.at
    // @ts-expect-error the payload of a declared signal has its schema's type (or null on timeout)
    const _notNull: { at: number } = click
    // @ts-expect-error a name the workflow does not declare
    await step.waitForEvent('email.opened')
    // @ts-expect-error a declared signal is parsed with its declared schema: no schema option
    await step.waitForEvent('email.clicked', { schema: z.object({ at: z.string() }) })
    const done = await step.waitForEvent('profile.done', { id: 'profile' })
    const fields: string[] | undefined = done?.fields

    // --- 5. durations ---
    await step.sleep('1h30m')
    await step.sleep('1.5d')
    await step.sleep('2w')
    await step.sleep('500ms')
    await step.sleep(60_000)
    await step.sleep(parseDuration(someString))
    // @ts-expect-error a misspelt unit
    await step.sleep('3 dayz')
    // @ts-expect-error a unit in words
    await step.sleep('5 minutes')
    // @ts-expect-error units smallest first
    await step.sleep('30m1h')
    // @ts-expect-error a plain string (read from the environment): parse it with parseDuration first
    await step.sleep(someString)
    // @ts-expect-error a number in a string without a unit
    await step.sleep('500')
    return { clicked: at !== undefined && status !== 'active' && fields !== undefined && input.email !== '' }
  },
})
workflow.create({
  id: 'bad-initial-state',
  state: z.object({ status: z.enum(['a', 'b']) }),
  // @ts-expect-error initialState's status is not one of the enum's values
  initialState: () => ({ status: 'c' }),
  async run() {},
})
workflow.create({
  id: 'missing-initial-field',
  state: z.object({ status: z.enum(['a', 'b']), count: z.number() }),
  // @ts-expect-error initialState lacks a field of the state schema
  initialState: () => ({ status: 'a' }),
  async run() {},
})
// A workflow without a state schema keeps a loose state.
workflow.create({
  id: 'loose-state',
  initialState: () => ({ count: 0 }),
  async run({ state, step }) {
    const n: number = state.count
    await step.setState({ anything: n })
  },
})

// --- Untyped workflows (no `signals`) keep any name and any payload ---------------------------------

const untyped = workflow.create({
  id: 'untyped',
  async run({ step }) {
    const any1: unknown = await step.waitForEvent('whatever')
    const typed: { n: number } | null = await step.waitForEvent<{ n: number }>('x')
    const parsed: { n: number } | null = await step.waitForEvent('y', { schema: z.object({ n: z.number() }) })
    return [any1, typed, parsed]
  },
})

// --- 3. Typed getRun / handle / result / retry --------------------------------------------------------

const typedInfo = async () => {
  const info = await engine.getRun(runId, onboarding)
  const out: { clicked: boolean } | undefined = info.output
  const status: 'registered' | 'email_sent' | 'active' = info.state.status
  const email: string = info.input.email
  // @ts-expect-error the output of a run of onboarding has no field `total`
  info.output?.total
  // @ts-expect-error the state of a run of onboarding has no field `count`
  info.state.count

  const viaType = await engine.getRun<typeof onboarding>(runId)
  const status2: 'registered' | 'email_sent' | 'active' = viaType.state.status
  // @ts-expect-error typed by the workflow given as a type argument
  const wrongInput: number = viaType.input.userId

  // The older forms still compile.
  const plain: RunInfo = await engine.getRun(runId)
  const unknownOutput: unknown = plain.output
  // @ts-expect-error an untyped RunInfo's output is unknown
  const notAny: number = plain.output
  const byTypes = await engine.getRun<{ total: number }, { n: number }>(runId)
  const total: number | undefined = byTypes.output?.total
  const byOutput = await engine.getRun<{ total: number }>(runId)
  const total2: number | undefined = byOutput.output?.total

  const h = engine.handle(runId, onboarding)
  const result: { clicked: boolean } = await h.result()
  // @ts-expect-error a typed handle's result has the workflow's output type
  const wrongResult: string = await h.result()
  const old: RunHandle<{ n: number }> = engine.handle<{ n: number }>(runId, 'free')
  const oldUnknown: unknown = await engine.handle(runId, 'free').result()

  const retried = await engine.retry(runId, summary)
  const retriedOut: { total: number; note: string } = await retried.result()
  const retriedPlain: RunHandle = await engine.retry(runId)
  // Without an output schema, the output is what run returns.
  const freeOut: { n: number } = await (await engine.trigger(free, undefined)).result()
  // @ts-expect-error the inferred output type is checked too
  const freeWrong: { n: string } = await (await engine.trigger(free, undefined)).result()
  return [
    out,
    status,
    email,
    status2,
    wrongInput,
    unknownOutput,
    notAny,
    total,
    total2,
    result,
    wrongResult,
    old,
    oldUnknown,
    retriedOut,
    retriedPlain,
    freeOut,
    freeWrong,
  ]
}

// --- 4. Typed signals from outside the run -------------------------------------------------------------

const typedSignals = async () => {
  const run = await engine.trigger(onboarding, { userId: 'u1', email: 'jane@example.com' })
  await engine.signal(run, 'email.clicked', { at: Date.now() })
  // @ts-expect-error a name the workflow does not declare
  await engine.signal(run, 'email.opened', { at: 1 })
  // @ts-expect-error a payload that does not fit the declared schema
  await engine.signal(run, 'email.clicked', { at: 'now' })
  // @ts-expect-error the payload is required when the schema does not accept undefined
  await engine.signal(run, 'email.clicked')
  // An optional schema makes the payload optional.
  await engine.signal(run, 'profile.done')
  // A run id from elsewhere (a webhook): a handle typed by the workflow.
  await engine.signal(engine.handle(runId, onboarding), 'email.clicked', { at: 1 })
  // @ts-expect-error the same checks through engine.handle
  await engine.signal(engine.handle(runId, onboarding), 'email.clicked', { at: '1' })
  // A run id alone: checked at run time only (the form of DESIGN.md).
  await engine.signal(run.id, 'email.clicked', { at: Date.now() })
  await engine.signal(runId, 'anything', { any: 'payload' })

  // Untyped workflows: any name, any payload, payload optional.
  const loose = await engine.trigger(untyped, undefined)
  await engine.signal(loose, 'whatever', { x: 1 })
  await engine.signal(loose, 'ping')
  const unknownHandle: RunHandle = loose
  await engine.signal(unknownHandle, 'anything', 42)

  const name: SignalName<typeof onboarding> = 'email.clicked'
  // @ts-expect-error SignalName lists the declared names
  const badName: SignalName<typeof onboarding> = 'nope'
  const payload: SignalPayload<typeof onboarding, 'email.clicked'> = { at: 1 }
  const anyName: SignalName<typeof untyped> = 'any string'
  const declared: keyof WorkflowSignals<typeof onboarding> = 'profile.done'
  return [name, badName, payload, anyName, declared]
}

// A workflow declaring signals is still a Workflow (engine options, step.invoke, arrays of workflows).
const all: Workflow[] = [onboarding, untyped, summary, free]
createEngine({ store: memoryStore(), workflows: [onboarding, untyped, summary, free] })

// --- 5. Durations outside steps -------------------------------------------------------------------------

const d1: Duration = '1h30m'
const d2: Duration = 1_000
const d3: Duration = '1d12h'
// @ts-expect-error a Duration is not any string
const d4: Duration = 'soon'
// @ts-expect-error nor a plain string variable
const d5: Duration = someString
const d6: Duration = toMs(someString)
createEngine({ store: memoryStore(), lease: '5s', pollInterval: 200 })
// @ts-expect-error engine options take Durations
createEngine({ store: memoryStore(), lease: '5 seconds' })
const te = createTestEngine()
await te.advance('3d')
// @ts-expect-error advance takes a Duration
await te.advance('3 days')

// --- 6. The public Engine type hides the engine's internals -------------------------------------------

// @ts-expect-error claim is internal
engine.claim
// @ts-expect-error the engine's store door is internal
engine.store
// @ts-expect-error the run operations are internal
engine.runs
// @ts-expect-error renewEngineLock is internal
engine.renewEngineLock
// @ts-expect-error notifyOthers is internal
engine.notifyOthers
// @ts-expect-error the executions map is internal
engine.executions
// @ts-expect-error the test engine's extras are not on Engine
engine.advance
// @ts-expect-error the test engine's crash hook is no public option
createEngine({ store: memoryStore(), beforeCommit: () => {} })
// @ts-expect-error nor the simulation's seeded ids
createEngine({ store: memoryStore(), random: { uuid: () => 'x' } })
// The test engine keeps them.
await te.settle()
te.kill()
const crashed: boolean = te.crashed

export { all, crashed, d1, d2, d3, d4, d5, d6, typedInfo, typedSignals }
