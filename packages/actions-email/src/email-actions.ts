import { type Action, action, type Duration, definePlugin, type Plugin } from '@do-sdk/core'
import { allowedHeaderSet } from './headers.js'
import { buildMessage } from './message.js'
import { type EmailActionsOptions, parseOptions, type ResolvedTransportOptions } from './options.js'
import { type SendEmailInput, type SendEmailOutput, sendEmailInputSchema, sendEmailOutputSchema } from './schema.js'
import { devTransport } from './transports/dev.js'
import { postmarkTransport } from './transports/postmark.js'
import { resendTransport } from './transports/resend.js'
import { smtpTransport } from './transports/smtp.js'
import type { EmailTransport } from './transports/types.js'

/** What {@link emailActions} returns. */
export interface EmailActions {
  /** Sends one email; id `<namespace>.send` (`email.send` by default). */
  sendEmail: Action<SendEmailInput, SendEmailOutput>
  /** Every action of the pack, e.g. for `action.catalog()`. */
  actions: Action[]
  /** Registers the actions with an engine: `createEngine({ plugins: [email.plugin] })`. */
  plugin: Plugin
  /** Closes the transport's connections (SMTP); the actions must not be used afterwards. */
  close(): Promise<void>
}

const DEFAULT_RETRY = { retries: 3, minTimeout: 1_000, factor: 2 }

const createTransport = (options: ResolvedTransportOptions): EmailTransport => {
  switch (options.type) {
    case 'smtp':
      return smtpTransport(options)
    case 'resend':
      return resendTransport(options)
    case 'postmark':
      return postmarkTransport(options)
    case 'dev':
      return devTransport(options)
  }
}

/**
 * The email action pack: validates its options at once (an InvalidArgumentError names the bad one)
 * and returns a `sendEmail` action and a plugin that registers it.
 *
 * @example
 * ```ts
 * const email = emailActions({
 *   transport: { type: 'smtp', host: 'smtp.example.com', port: 587, auth: { user: 'app', pass: process.env.SMTP_PASS! } },
 *   from: 'Acme <hello@acme.test>',
 * })
 * const engine = createEngine({ store, workflows, plugins: [email.plugin] })
 * // in a workflow:
 * await step.run(email.sendEmail, { to: input.email, subject: 'Welcome!', text: `Hi ${input.name}` })
 * ```
 */
export const emailActions = (options: EmailActionsOptions): EmailActions => {
  const resolved = parseOptions(options)
  const transport = createTransport(resolved.transport)
  const id = `${resolved.namespace}.send`

  const sendEmail = action.create({
    id,
    description: `Sends one email (${transport.provider} transport) and returns its message id and the accepted recipients.`,
    input: sendEmailInputSchema({
      allowedHeaders: allowedHeaderSet(resolved.allowedHeaders),
      defaultFrom: resolved.from !== undefined,
      provider: transport.provider,
    }),
    output: sendEmailOutputSchema,
    retry: resolved.retry ?? DEFAULT_RETRY,
    // A string from the options schema; action.create refuses a malformed one, naming the action.
    timeout: resolved.timeout as Duration,
    async execute(input, ctx) {
      const message = buildMessage(input, {
        from: resolved.from,
        messageIdDomain: resolved.messageIdDomain,
        actionId: id,
        idempotencyKey: ctx.idempotencyKey,
      })
      ctx.log.debug('email: sending', { action: id, provider: transport.provider, attempt: ctx.attempt, messageId: message.messageId })
      const result = await transport.send(message, {
        signal: ctx.signal,
        idempotencyKey: ctx.idempotencyKey,
        attempt: ctx.attempt,
        log: ctx.log,
      })
      // Counts, not addresses: logs are no place for recipients' personal data.
      ctx.log.info('email: sent', {
        action: id,
        provider: transport.provider,
        messageId: result.messageId,
        accepted: result.accepted.length,
        rejected: result.rejected.length,
      })
      return { provider: transport.provider, ...result }
    },
  })

  const actions: Action[] = [sendEmail]
  const plugin = definePlugin({
    name: resolved.namespace === 'email' ? '@do-sdk/actions-email' : `@do-sdk/actions-email:${resolved.namespace}`,
    setup(ctx) {
      for (const a of actions) ctx.registerAction(a)
    },
  })

  return { sendEmail, actions, plugin, close: () => transport.close() }
}
