import { definePlugin, type Plugin } from '@do-sdk/core'
import { sendEmail } from '../src/trial.js'

/** One email the mock "sent": what the real action would have posted to the API. */
export interface SentEmail {
  to: string
  template: string
  idempotencyKey: string
  attempt: number
  runId: string
  stepId: string
}

/**
 * Replaces the `email.send` action in a test engine: an action interceptor that answers without
 * calling `next()`, so the real action (and its fetch) never runs, and records each attempt.
 *
 * A short-circuit skips the action's own input and output schemas, so the mock parses the input
 * itself: a workflow that builds a bad email still fails the test.
 *
 * `fail` makes the next attempts throw, as a flaky API would.
 */
export const mockEmail = (): Plugin & { sent: SentEmail[]; fail(times: number, error?: Error): void } => {
  const sent: SentEmail[] = []
  let failures: { left: number; error: Error } = { left: 0, error: new Error('email API answered 503') }
  const plugin = definePlugin({
    name: 'mock-email',
    setup(ctx) {
      ctx.wrap('action', async (c, next) => {
        if (c.action.id !== sendEmail.id) return next()
        const input = (await c.action.parseInput(c.input)) as { to: string; template: string }
        if (failures.left > 0) {
          failures.left--
          throw failures.error
        }
        sent.push({
          to: input.to,
          template: input.template,
          idempotencyKey: c.idempotencyKey,
          attempt: c.attempt,
          runId: c.runId,
          stepId: c.stepId,
        })
        return { messageId: `mock-${sent.length}` }
      })
    },
  })
  return {
    ...plugin,
    sent,
    fail(times, error = failures.error) {
      failures = { left: times, error }
    },
  }
}
