import { action, workflow } from '@do-sdk/core'
import { z } from 'zod'

export const templates = ['welcome', 'trial-ending', 'upgraded', 'trial-expired'] as const
export type Template = (typeof templates)[number]

/**
 * Sends a templated email through an HTTP email API. In the tests it never runs: a plugin answers
 * in its place (see test/mocks.ts).
 */
export const sendEmail = action.create({
  id: 'email.send',
  description: 'Sends a templated email through the email API.',
  input: z.object({ to: z.email(), template: z.enum(templates), data: z.record(z.string(), z.string()).default({}) }),
  output: z.object({ messageId: z.string() }),
  retry: { retries: 4, minTimeout: 1_000, factor: 2 },
  timeout: '15s',
  execute: async (input, { idempotencyKey, signal }) => {
    const res = await fetch(process.env.MAIL_API_URL ?? 'https://mail.example.invalid/v1/send', {
      method: 'POST',
      // The API drops a second request with the same key: an attempt repeated after a crash sends nothing twice.
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(input),
      signal,
    })
    if (!res.ok) throw new Error(`email API answered ${res.status}`)
    return (await res.json()) as { messageId: string }
  },
})

export const trialInput = z.object({ accountId: z.string().min(1), email: z.email() })

export const trialState = z.object({
  plan: z.enum(['trial', 'pro', 'expired']),
  emails: z.array(z.enum(templates)),
  upgradedAt: z.number().nullable(),
})
export type TrialState = z.infer<typeof trialState>

/** What the billing system sends when the customer pays: `engine.signal(runId, 'upgraded', { plan })`. */
export const upgradeEvent = z.object({ plan: z.string() })

/**
 * A 14-day trial: a welcome email on day 1, an upgrade awaited for up to 14 days, a reminder at
 * the start of day 13 if none came, then either a thank-you or the end of the trial.
 */
export const trial = workflow.create({
  id: 'trial',
  input: trialInput,
  state: trialState,
  initialState: (): TrialState => ({ plan: 'trial', emails: [], upgradedAt: null }),
  async run({ input, step }) {
    const email = async (template: Template) => {
      await step.run(sendEmail, { to: input.email, template, data: { accountId: input.accountId } }, { id: template })
      await step.setState((s) => ({ ...s, emails: [...s.emails, template] }))
    }

    await email('welcome')
    // Day 13 starts 12 days after the trial did; the trial ends 2 days later.
    let upgrade = await step.waitForEvent('upgraded', { timeout: '12d', schema: upgradeEvent })
    if (upgrade === null) {
      await email('trial-ending')
      upgrade = await step.waitForEvent('upgraded', { timeout: '2d', schema: upgradeEvent })
    }
    if (upgrade === null) {
      await step.setState({ plan: 'expired' })
      await email('trial-expired')
      return { upgraded: false as const }
    }
    await step.setState({ plan: 'pro', upgradedAt: await step.now() })
    await email('upgraded')
    return { upgraded: true as const, plan: upgrade.plan }
  },
})
