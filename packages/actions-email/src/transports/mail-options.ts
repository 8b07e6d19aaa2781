import type { SendMailOptions } from 'nodemailer'
import type { EmailMessage } from '../message.js'

/** `X-Tags: name=value; name=value`, the SMTP stand-in for the tags an HTTP API would take. */
export const tagsHeader = (tags: EmailMessage['tags']): Record<string, string> =>
  tags.length === 0 ? {} : { 'X-Tags': tags.map((t) => `${t.name}=${t.value}`).join('; ') }

const orNothing = <T>(list: T[]): T[] | undefined => (list.length === 0 ? undefined : list)

/**
 * nodemailer's message options for a validated message. Addresses go in as `{ name, address }` objects,
 * never as strings nodemailer would parse again; attachments go in as bytes, never as `path` or `href`.
 */
export const toMailOptions = (message: EmailMessage, signal?: AbortSignal): SendMailOptions => ({
  from: message.from,
  to: message.to,
  cc: orNothing(message.cc),
  bcc: orNothing(message.bcc),
  replyTo: orNothing(message.replyTo),
  subject: message.subject,
  text: message.text,
  html: message.html,
  headers: { ...tagsHeader(message.tags), ...message.headers },
  attachments: message.attachments.map((a) => ({
    filename: a.filename,
    content: a.content,
    contentType: a.contentType,
    cid: a.contentId,
  })),
  messageId: message.messageId,
  signal,
})
