import { createHash } from 'node:crypto'
import { formatAddress } from '../address.js'
import { redactor } from '../errors.js'
import { type EmailMessage, recipientsOf } from '../message.js'
import type { ResendTransportOptions } from '../options.js'
import { type ApiErrorDetail, postJson } from './http.js'
import type { EmailTransport } from './types.js'

/**
 * Resend takes idempotency keys of 1 to 256 characters for 24 hours. A longer key, or one a header cannot
 * carry, is replaced by its hash, which is just as stable across attempts.
 */
export const resendIdempotencyKey = (key: string): string =>
  /^[\x21-\x7e]{1,256}$/.test(key) ? key : `sha256-${createHash('sha256').update(key).digest('hex')}`

const many = (list: EmailMessage['to']) => (list.length === 0 ? undefined : list.map(formatAddress))

/** The body of `POST /emails`. */
export const resendBody = (m: EmailMessage) => ({
  from: formatAddress(m.from),
  to: m.to.map(formatAddress),
  cc: many(m.cc),
  bcc: many(m.bcc),
  reply_to: many(m.replyTo),
  subject: m.subject,
  text: m.text,
  html: m.html,
  headers: Object.keys(m.headers).length === 0 ? undefined : m.headers,
  attachments:
    m.attachments.length === 0
      ? undefined
      : m.attachments.map((a) => ({
          filename: a.filename,
          content: a.content.toString('base64'),
          content_type: a.contentType,
          content_id: a.contentId,
        })),
  tags: m.tags.length === 0 ? undefined : m.tags,
})

const errorDetail = (body: unknown): ApiErrorDetail => {
  const b = (body ?? {}) as { name?: unknown; message?: unknown }
  return {
    ...(typeof b.name === 'string' ? { code: b.name } : {}),
    ...(typeof b.message === 'string' ? { message: b.message } : {}),
  }
}

/**
 * Resend over its HTTP API. Every attempt of one call sends the same `Idempotency-Key`, so Resend
 * delivers the message once even when an attempt's answer was lost.
 */
export const resendTransport = (options: ResendTransportOptions & { baseUrl: string }): EmailTransport => {
  const redact = redactor([options.apiKey])
  return {
    provider: 'resend',
    async send(message, ctx) {
      const answer = (await postJson({
        provider: 'resend',
        url: `${options.baseUrl}/emails`,
        headers: { authorization: `Bearer ${options.apiKey}`, 'idempotency-key': resendIdempotencyKey(ctx.idempotencyKey) },
        body: resendBody(message),
        signal: ctx.signal,
        redact,
        errorDetail,
        // Another attempt with this key is still in flight at Resend: ask again later.
        retryable: (status, detail) => status === 409 && detail.code === 'concurrent_idempotent_requests',
      })) as { id?: unknown }
      const id = typeof answer.id === 'string' && answer.id ? answer.id : message.messageId
      return { messageId: id, accepted: recipientsOf(message), rejected: [] }
    },
    async close() {},
  }
}
