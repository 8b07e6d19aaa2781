import { createTransport, type NodemailerError } from 'nodemailer'
import { clip, EmailDeliveryError, permanent, redactor } from '../errors.js'
import type { SmtpTransportOptions } from '../options.js'
import { toMailOptions } from './mail-options.js'
import type { EmailTransport } from './types.js'

/** nodemailer codes of failures that carry no SMTP reply and that another attempt would repeat. */
const PERMANENT_CODES = new Set([
  'EAUTH',
  'ENOAUTH',
  'EOAUTH2',
  'ECONFIG',
  'EENVELOPE',
  'EFILEACCESS',
  'EURLACCESS',
  'EMAXRECIPIENTS',
  'EREQUIRETLS',
])

/** Whether the server's answer (or its absence) means the same message would fail again. */
const isPermanent = (err: NodemailerError): boolean => {
  if (typeof err.responseCode === 'number') {
    // nodemailer >= 10.2 sets `permanent` from the reply class (5xx but 503); older ones do not.
    return err.permanent ?? (err.responseCode >= 500 && err.responseCode !== 503)
  }
  return typeof err.code === 'string' && PERMANENT_CODES.has(err.code)
}

const addressOf = (a: unknown): string => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? ''))

/**
 * SMTP delivery through nodemailer. Each attempt opens its own connection (no pool), so nothing is left
 * half-open between the attempts of a durable step. 4xx replies and network failures are retried; 5xx
 * replies (but 503) and configuration errors are not.
 */
export const smtpTransport = (options: SmtpTransportOptions): EmailTransport => {
  const secure = options.secure ?? options.port === 465
  const auth = options.auth
  const transporter = createTransport({
    host: options.host,
    port: options.port ?? (secure ? 465 : 587),
    secure,
    requireTLS: options.requireTLS ?? false,
    auth: auth ? { user: auth.user, pass: auth.pass } : undefined,
    name: options.clientName,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 60_000,
    tls: options.tls,
    // Message data never reads local files or fetches URLs, whatever an attachment says.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  })
  // The password as written and as the AUTH PLAIN / LOGIN tokens a server might echo back.
  const redact = redactor([auth?.pass], auth ? [Buffer.from(`\0${auth.user}\0${auth.pass}`).toString('base64')] : [])

  return {
    provider: 'smtp',
    async send(message, ctx) {
      try {
        const info = await transporter.sendMail(toMailOptions(message, ctx.signal))
        return {
          messageId: info.messageId || message.messageId,
          accepted: info.accepted.map(addressOf),
          rejected: info.rejected.map(addressOf),
          ...(typeof info.response === 'string' ? { response: clip(redact(info.response)) } : {}),
        }
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error
        const err = error as NodemailerError
        // A fresh error built from safe fields: nodemailer's own one may hold the command that failed.
        const detail = new EmailDeliveryError(`[smtp] ${options.host}: ${clip(redact(String(err?.message ?? err)))}`, {
          provider: 'smtp',
          ...(typeof err?.responseCode === 'number' ? { responseCode: err.responseCode } : {}),
          ...(typeof err?.code === 'string' ? { code: err.code } : {}),
          ...(typeof err?.response === 'string' ? { response: clip(redact(err.response)) } : {}),
        })
        throw isPermanent(err) ? permanent(detail) : detail
      }
    },
    async close() {
      transporter.close()
    },
  }
}
