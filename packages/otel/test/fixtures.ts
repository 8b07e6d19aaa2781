import { action, NonRetryableError, workflow } from '@do-sdk/core'
import { z } from 'zod'
import { appTracer } from './otel-sdk.js'

/** An action that makes an "outgoing call": a span of its own, parented by whatever context is active. */
export const fetchProfile = action.create({
  id: 'profile.fetch',
  description: 'Fetches a user profile.',
  input: z.object({ userId: z.string() }),
  retry: false,
  execute: async ({ userId }) => {
    const call = appTracer.startSpan('GET /profiles/:id')
    call.end()
    return { userId, name: 'Jane' }
  },
})

/** Fails its first `failures` attempts with a retryable error, then succeeds. */
export const flakyCharge = (failures: number) => {
  let flaky = 0
  return action.create({
    id: 'payments.charge',
    description: 'Charges a card.',
    retry: { retries: 3, minTimeout: 1000, factor: 1 },
    execute: async ({ amount }: { amount: number }) => {
      flaky++
      if (flaky <= failures) throw new Error(`gateway timeout #${flaky}`)
      return { chargeId: `ch_${amount}` }
    },
  })
}

export const onboarding = workflow.create({
  id: 'onboarding',
  version: '3',
  input: z.object({ userId: z.string() }),
  async run({ input, step }) {
    const profile = await step.run(fetchProfile, { userId: input.userId })
    const greeting = await step.run('compose-greeting', () => `hello ${profile.name}`)
    await step.now()
    return greeting
  },
})

/** Waits for a signal between two steps, so it suspends once and resumes with a replayed step. */
export const approval = workflow.create({
  id: 'approval',
  async run({ step }) {
    await step.run(fetchProfile, { userId: 'usr_1' })
    await step.waitForEvent('approved')
    return step.run('finish', () => 'done')
  },
})

export const broken = workflow.create({
  id: 'broken',
  async run({ step }) {
    await step.run('validate', () => {
      throw new NonRetryableError('card declined')
    })
  },
})
