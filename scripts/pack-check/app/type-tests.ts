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
import { action, createEngine, memoryStore, type RunInfo, workflow } from '@do-sdk/core'
import { createTestEngine } from '@do-sdk/core/testing'
import { z } from 'zod'

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
  initialState: () => ({ status: 'new' as const }),
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
    return { userId: input.userId, messageId: id, wrong }
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

const testEngine = createTestEngine({ workflows: [onboarding] })
await testEngine.advance('3d')
// @ts-expect-error advance takes a Duration
await testEngine.advance({ days: 3 })

export { notOutput, output, status }
