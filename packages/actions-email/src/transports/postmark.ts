import { createHash } from 'node:crypto'
import { formatAddress } from '../address.js'
import { redactor } from '../errors.js'
import { type EmailMessage, recipientsOf } from '../message.js'
import type { PostmarkTransportOptions } from '../options.js'
import { type ApiErrorDetail, postJson } from './http.js'
import type { EmailTransport } from './types.js'

/** Metadata key holding the idempotency key (Postmark keys are at most 20 characters). */
export const POSTMARK_IDEMPOTENCY_FIELD = 'idempotency_key'

/** Postmark metadata values are at most 80 characters; a longer key is replaced by its hash. */
const metadataKey = (key: string) => (key.length <= 80 ? key : `sha256-${createHash('sha256').update(key).digest('hex').slice(0, 64)}`)

const joined = (list: EmailMessage['to']) => (list.length === 0 ? undefined : list.map(formatAddress).join(', '))

/** The body of `POST /email`. */
export const postmarkBody = (m: EmailMessage, idempotencyKey: string, messageStream: string) => ({
  From: formatAddress(m.from),
  To: joined(m.to),
  Cc: joined(m.cc),
  Bcc: joined(m.bcc),
  ReplyTo: joined(m.replyTo),
  Subject: m.subject,
  TextBody: m.text,
  HtmlBody: m.html,
  Headers: Object.entries(m.headers).map(([Name, Value]) => ({ Name, Value })),
  Attachments: m.attachments.map((a) => ({
    Name: a.filename,
    Content: a.content.toString('base64'),
    ContentType: a.contentType ?? 'application/octet-stream',
    ...(a.contentId ? { ContentID: `cid:${a.contentId}` } : {}),
  })),
  Metadata: {
    ...Object.fromEntries(m.tags.map((t) => [t.name, t.value])),
    [POSTMARK_IDEMPOTENCY_FIELD]: metadataKey(idempotencyKey),
  },
  MessageStream: messageStream,
})

const errorDetail = (body: unknown): ApiErrorDetail => {
  const b = (body ?? {}) as { ErrorCode?: unknown; Message?: unknown }
  return {
    ...(typeof b.ErrorCode === 'number' || typeof b.ErrorCode === 'string' ? { code: `ErrorCode ${b.ErrorCode}` } : {}),
    ...(typeof b.Message === 'string' ? { message: b.Message } : {}),
  }
}

/**
 * Postmark over its HTTP API. Postmark has no idempotency header, so the key goes into the message's
 * Metadata (searchable in Postmark's activity feed): a retry after a lost answer can still send twice.
 */
export const postmarkTransport = (options: PostmarkTransportOptions & { baseUrl: string }): EmailTransport => {
  const redact = redactor([options.serverToken])
  return {
    provider: 'postmark',
    async send(message, ctx) {
      const answer = (await postJson({
        provider: 'postmark',
        url: `${options.baseUrl}/email`,
        headers: { 'x-postmark-server-token': options.serverToken },
        body: postmarkBody(message, ctx.idempotencyKey, options.messageStream ?? 'outbound'),
        signal: ctx.signal,
        redact,
        errorDetail,
      })) as { MessageID?: unknown }
      const id = typeof answer.MessageID === 'string' && answer.MessageID ? answer.MessageID : message.messageId
      return { messageId: id, accepted: recipientsOf(message), rejected: [] }
    },
    async close() {},
  }
}
