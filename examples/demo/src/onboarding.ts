import type { databaseActions } from '@do-sdk/actions-database'
import type { emailActions } from '@do-sdk/actions-email'
import type { httpActions } from '@do-sdk/actions-http'
import { type Duration, workflow } from '@do-sdk/core'
import { z } from 'zod'

/** The state record the seed describes: the workflow's notebook entry for one user. */
export const userRecord = z.object({
  userId: z.string(),
  status: z.enum(['registered', 'email_sent', 'clicked', 'active']),
  welcomeEmailSent: z.boolean(),
  profileSetup: z.boolean(),
})
export type UserRecord = z.infer<typeof userRecord>

/**
 * The onboarding workflow: the stateful project manager over stateless actions (the email pack's
 * `sendEmail`, the HTTP pack's `get`, the database pack's `insert`). Every step is committed to the SQLite Datastore, so
 * the run can be killed anywhere and resumed where it stopped.
 */
export const makeOnboarding = (
  email: ReturnType<typeof emailActions>,
  db: ReturnType<typeof databaseActions>,
  http: ReturnType<typeof httpActions>,
  options: { sleep: Duration },
) =>
  workflow.create({
    id: 'user-onboarding',
    input: z.object({ userId: z.string(), email: z.string().email(), name: z.string() }),
    state: userRecord,
    initialState: ({ userId }): UserRecord => ({ userId, status: 'registered', welcomeEmailSent: false, profileSetup: false }),
    async run({ input, state, step }) {
      // The record lives in the Datastore, where the rest of the app can read it (engine.kv).
      await step.store.set(`users/${input.userId}`, state)
      if (!state.welcomeEmailSent) {
        await step.run(email.sendEmail, {
          to: { name: input.name, address: input.email },
          subject: `Welcome to Acme, ${input.name}!`,
          text: `Hi ${input.name},\n\nWelcome aboard. Click the link in this email to finish setting up your profile.\n`,
          html: `<p>Hi ${input.name},</p><p>Welcome aboard. <a href="http://localhost/confirm">Finish setting up your profile</a>.</p>`,
        })
        await step.setState({ status: 'email_sent', welcomeEmailSent: true })
        await step.store.set(`users/${input.userId}`, state)
      }
      const click = await step.waitForEvent<{ at: number }>('email.clicked', { timeout: '3d' })
      await step.setState({ status: 'clicked' })
      await step.sleep(options.sleep)
      const crm = await step.run(http.get, { url: `/crm/users/${input.userId}`, responseType: 'json' })
      const plan = (crm.body as { plan?: string }).plan ?? 'free'
      const profile = await step.run(db.insert, {
        table: 'profiles',
        values: { user_id: input.userId, email: input.email, name: input.name, plan, clicked_at: click?.at ?? null },
        idempotencyKey: 'request_key',
      })
      await step.setState({ status: 'active', profileSetup: true })
      await step.store.set(`users/${input.userId}`, state)
      return { profileRowId: profile.rows[0]?.id ?? null, clickedAt: click?.at ?? null }
    },
  })
