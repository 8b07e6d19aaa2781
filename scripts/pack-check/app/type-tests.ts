/**
 * Type tests, checked by scripts/pack-check.mjs with `tsc --noEmit` against the packed tarballs
 * (moduleResolution node16 and bundler).
 *
 * Every `// @ts-expect-error` line below must be a type error. If a line compiles, tsc fails with
 * TS2578 "Unused '@ts-expect-error' directive": the types let that mistake through.
 *
 * To add a check: write the mistake a user could make on one line, put `// @ts-expect-error <what
 * must be refused>` on the line above, and run `node scripts/pack-check.mjs`. Lines that must
 * compile go in without a directive (a type error there fails the check too). Reuse the
 * definitions below or add your own; keep each check to one statement.
 */
import { action, createEngine, type Duration, memoryStore, parseDuration, type RunInfo, workflow } from '@do-sdk/core'
import { createTestEngine } from '@do-sdk/core/testing'
import { z } from 'zod'

/** A duration read at run time (an environment variable, a config file). */
declare const delayFromConfig: string

const sendEmail = action.create({
  id: 'send-email',
  description: 'Sends an email.',
  input: z.object({ to: z.string().email(), subject: z.string() }),
  output: z.object({ messageId: z.string() }),
  execute: async () => ({ messageId: 'm-1' }),
})

const onboarding = workflow.create({
  id: 'onboarding',
  input: z.object({ userId: z.string(), email: z.string() }),
  state: z.object({ status: z.enum(['new', 'sent']) }),
  // No `as const`: the state schema types the literal.
  initialState: () => ({ status: 'new' }),
  signals: { 'email.clicked': z.object({ at: z.number() }) },
  async run({ input, step }) {
    const sent = await step.run(sendEmail, { to: input.email, subject: 'Welcome' })
    const id: string = sent.messageId
    // @ts-expect-error an action's output has the type of its output schema
    const wrong: number = sent.messageId
    // @ts-expect-error step.run checks the action's input (subject is missing)
    await step.run(sendEmail, { to: input.email })
    // @ts-expect-error step.run checks the action's input types
    await step.run(sendEmail, { to: input.email, subject: 42 })
    // @ts-expect-error the workflow input has no field `name`
    input.name
    await step.setState({ status: 'sent' })
    // @ts-expect-error setState checks the state schema's values
    await step.setState({ status: 'unknown' })
    // @ts-expect-error step.sleep takes a Duration, not a boolean
    await step.sleep(true)
    await step.sleep('1h30m')
    // @ts-expect-error a Duration string with a misspelt unit
    await step.sleep('3 dayz')
    // @ts-expect-error a plain string is no Duration (parseDuration converts one read at run time)
    await step.sleep(delayFromConfig)
    await step.sleep(parseDuration(delayFromConfig))
    const click = await step.waitForEvent('email.clicked', { timeout: '3d' })
    const at: number | undefined = click?.at
    // @ts-expect-error waitForEvent refuses a signal the workflow does not declare
    await step.waitForEvent('email.opened')
    return { userId: input.userId, messageId: id, wrong, at }
  },
})

workflow.create({
  id: 'bad-initial-state',
  state: z.object({ status: z.enum(['new', 'sent']) }),
  // @ts-expect-error initialState is checked against the state schema
  initialState: () => ({ status: 'old' }),
  async run() {},
})
workflow.create({
  id: 'bad-output',
  output: z.object({ total: z.number() }),
  // @ts-expect-error run's return is checked against the output schema
  async run() {
    return { total: 'three' }
  },
})

const engine = createEngine({ store: memoryStore(), workflows: [onboarding] })
const run = await engine.trigger(onboarding, { userId: 'usr_1', email: 'jane@example.com' })
const output: { userId: string; messageId: string } = await run.result()
// @ts-expect-error run.result() resolves with the workflow's output type
const notOutput: string = await run.result()

// @ts-expect-error engine.trigger checks the workflow's input (email is missing)
await engine.trigger(onboarding, { userId: 'usr_1' })
// @ts-expect-error engine.trigger checks the workflow's input types
await engine.trigger(onboarding, { userId: 1, email: 'jane@example.com' })
// @ts-expect-error createEngine needs a Datastore
createEngine({ store: {}, workflows: [onboarding] })

const info: RunInfo = await engine.getRun(run.id)
// @ts-expect-error getRun returns a RunInfo whose status is a RunStatus, not any string
const status: 'done' = info.status

await engine.signal(run, 'email.clicked', { at: Date.now() })
// @ts-expect-error engine.signal on a typed handle checks the name against the declared signals
await engine.signal(run, 'email.opened', { at: 1 })
// @ts-expect-error engine.signal on a typed handle checks the payload against the signal's schema
await engine.signal(run, 'email.clicked', { at: 'now' })
// @ts-expect-error the same for a run id from elsewhere, through engine.handle(runId, workflow)
await engine.signal(engine.handle(run.id, onboarding), 'email.clicked', {})
await engine.signal(run.id, 'email.clicked', { at: Date.now() })

const typedInfo = await engine.getRun(run.id, onboarding)
const runState: 'new' | 'sent' = typedInfo.state.status
// @ts-expect-error getRun(runId, workflow) types the output
const runOutput: number | undefined = typedInfo.output
const viaTypeArg = await engine.getRun<typeof onboarding>(run.id)
// @ts-expect-error getRun<typeof workflow>(runId) types the input
const runInput: number = viaTypeArg.input.userId
// @ts-expect-error engine.handle(runId, workflow).result() has the workflow's output type
const handleResult: string = await engine.handle(run.id, onboarding).result()
// @ts-expect-error engine.retry(runId, workflow) returns a typed handle
const retried: string = await (await engine.retry(run.id, onboarding)).result()
// @ts-expect-error a Duration is not any string
const later: Duration = 'later'
// @ts-expect-error the Engine type hides the engine's internals
engine.claim
// @ts-expect-error the Engine type hides the engine's internals
engine.store

const testEngine = createTestEngine({ workflows: [onboarding] })
await testEngine.advance('3d')
// @ts-expect-error advance takes a Duration
await testEngine.advance({ days: 3 })

export { handleResult, later, notOutput, output, retried, runInput, runOutput, runState, status }
