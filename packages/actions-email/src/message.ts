import { createHash } from 'node:crypto'
import { domainOf, type EmailAddress } from './address.js'
import type { ParsedSendEmailInput } from './schema.js'

/** One attachment, decoded to bytes. */
export interface MessageAttachment {
  filename: string
  content: Buffer
  contentType?: string
  contentId?: string
}

/** A validated message, the same for every transport. */
export interface EmailMessage {
  from: EmailAddress
  to: EmailAddress[]
  cc: EmailAddress[]
  bcc: EmailAddress[]
  replyTo: EmailAddress[]
  subject: string
  text?: string
  html?: string
  /** Custom headers, already checked against the allow-list. */
  headers: Record<string, string>
  attachments: MessageAttachment[]
  tags: { name: string; value: string }[]
  /** RFC 5322 Message-ID with angle brackets, derived from the idempotency key. */
  messageId: string
}

/**
 * A Message-ID that is the same for every attempt of one call, so that a retried SMTP delivery carries
 * the Message-ID of the first one and receivers (and humans) can tell it is the same message. The key is
 * hashed: it may hold a run id the recipient has no business seeing.
 */
export const deriveMessageId = (idempotencyKey: string, actionId: string, domain: string): string => {
  const hash = createHash('sha256').update(`do-sdk-email\0${actionId}\0${idempotencyKey}`).digest('hex').slice(0, 40)
  return `<${hash}@${domain}>`
}

/** Builds the transport-neutral message from validated input. */
export const buildMessage = (
  input: ParsedSendEmailInput,
  defaults: { from?: EmailAddress; messageIdDomain?: string; actionId: string; idempotencyKey: string },
): EmailMessage => {
  // The input schema refuses a missing `from` when there is no default, so one of the two is set.
  const from = (input.from ?? defaults.from) as EmailAddress
  return {
    from,
    to: input.to,
    cc: input.cc ?? [],
    bcc: input.bcc ?? [],
    replyTo: input.replyTo ?? [],
    subject: input.subject,
    ...(input.text === undefined ? {} : { text: input.text }),
    ...(input.html === undefined ? {} : { html: input.html }),
    headers: { ...input.headers },
    attachments: (input.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: Buffer.from(a.content, a.encoding === 'base64' ? 'base64' : 'utf8'),
      ...(a.contentType ? { contentType: a.contentType } : {}),
      ...(a.contentId ? { contentId: a.contentId } : {}),
    })),
    tags: input.tags ?? [],
    messageId: deriveMessageId(defaults.idempotencyKey, defaults.actionId, defaults.messageIdDomain ?? domainOf(from.address)),
  }
}

/** Every envelope recipient (to, cc, bcc), as bare addresses. */
export const recipientsOf = (message: EmailMessage): string[] => [...message.to, ...message.cc, ...message.bcc].map((a) => a.address)
