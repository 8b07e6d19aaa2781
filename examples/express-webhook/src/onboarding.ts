import { createHash } from 'node:crypto'
import { action, type Duration, workflow } from '@do-sdk/core'
import { z } from 'zod'

/** The body of `POST /signup`, and the workflow's input. Emails are compared trimmed and lower-cased. */
export const signupInput = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email()),
  name: z.string().trim().min(1).max(100),
})
export type SignupInput = z.infer<typeof signupInput>

/** The onboarding state record, as `GET /runs/:id` shows it. */
export const signupState = z.object({
  email: z.string(),
  status: z.enum(['registered', 'email_sent', 'clicked', 'active', 'inactive']),
  welcomeEmailSent: z.boolean(),
  clickedAt: z.number().nullable(),
})
export type SignupState = z.infer<typeof signupState>

/** An email as the app hands it to its provider. */
export interface OutgoingEmail {
  to: string
  subject: string
  text: string
  /** The provider deduplicates on it: a retried attempt after a crash carries the same key. */
  idempotencyKey: string
}

/** The provider's API (Postmark, SES, Resend…): sends one email, returns the provider's message id. */
export type EmailTransport = (email: OutgoingEmail) => Promise<{ messageId: string }>

/** Options of {@link makeSignupWorkflow}. */
export interface SignupWorkflowOptions {
  /** Sends the emails. */
  transport: EmailTransport
  /** Base URL of this app, used in the tracking link of the welcome email (a function when it is known only once listening). */
  publicUrl: string | (() => string)
  /** How long to wait for the click before going on without it. @default '3d' */
  clickTimeout?: Duration
  /** The pause between the click and the activation. @default '1h' */
  activationDelay?: Duration
}

/**
 * Run ids must be 1-200 characters of letters, digits and `. _ - : @ / #`. Most emails fit as they
 * are (`signup:jane@example.com`, readable in logs); the others (`jane+news@…`, very long ones) get a
 * hash. Hashes have no `@`, so the two forms never collide.
 */
export const signupRunId = (email: string): string => {
  const plain = `signup:${email}`
  if (/^[A-Za-z0-9._\-:@/]{1,200}$/.test(plain)) return plain
  return `signup:sha256-${createHash('sha256').update(email).digest('hex')}`
}

/**
 * The onboarding workflow behind `POST /signup`: welcome email, wait for the click on its link
 * (delivered by the provider's webhook), a pause, then the welcome tips. Built by a factory so the
 * app (and its tests) choose the transport and the durations.
 */
export const makeSignupWorkflow = (options: SignupWorkflowOptions) => {
  const sendEmail = action.create({
    id: 'send-email',
    description: 'Sends one email through the configured provider.',
    input: z.object({ to: z.string(), subject: z.string(), text: z.string() }),
    output: z.object({ messageId: z.string() }),
    retry: { retries: 3, minTimeout: 200, factor: 2 },
    timeout: '10s',
    execute: (email, { idempotencyKey }) => options.transport({ ...email, idempotencyKey }),
  })

  return workflow.create({
    id: 'signup-onboarding',
    input: signupInput,
    state: signupState,
    initialState: ({ email }): SignupState => ({ email, status: 'registered', welcomeEmailSent: false, clickedAt: null }),
    async run({ input, state, step, runId }) {
      if (!state.welcomeEmailSent) {
        // The app's URL can change between two processes (another port, another host): recorded as a
        // step, the link, and so the email step's input, stay the same when the run is replayed.
        const base = await step.run('public-url', () => (typeof options.publicUrl === 'function' ? options.publicUrl() : options.publicUrl))
        const link = `${base}/webhooks/email-clicked?runId=${encodeURIComponent(runId)}`
        await step.run(sendEmail, {
          to: input.email,
          subject: `Welcome, ${input.name}!`,
          text: `Hi ${input.name},\n\nConfirm your address to finish signing up: ${link}\n`,
        })
        await step.setState({ status: 'email_sent', welcomeEmailSent: true })
      }
      const click = await step.waitForEvent('email.clicked', {
        timeout: options.clickTimeout ?? '3d',
        schema: z.object({ at: z.number() }),
      })
      if (click === null) {
        await step.setState({ status: 'inactive' })
        return { activated: false }
      }
      await step.setState({ status: 'clicked', clickedAt: click.at })
      await step.sleep(options.activationDelay ?? '1h')
      await step.run(sendEmail, { to: input.email, subject: 'Three tips to get started', text: `Hi ${input.name}, …` }, { id: 'send-tips' })
      await step.setState({ status: 'active' })
      return { activated: true }
    },
  })
}
