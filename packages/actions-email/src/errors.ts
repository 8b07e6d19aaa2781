import { NonRetryableError, RetryAfterError } from '@do-sdk/core'

/** Which transport an error or a result comes from. */
export type EmailProvider = 'smtp' | 'resend' | 'postmark' | 'dev'

/** Details of a failed delivery attempt; every string in it has had the transport's secrets removed. */
export interface EmailDeliveryErrorDetails {
  provider: EmailProvider
  /** SMTP reply code (e.g. 451, 550), when the server answered. */
  responseCode?: number
  /** HTTP status of the email API, when it answered. */
  status?: number
  /** nodemailer error code (`ECONNECTION`, `EENVELOPE`…) or the API's own error code. */
  code?: string
  /** The server's reply, trimmed and with secrets redacted. */
  response?: string
}

/**
 * A delivery attempt that failed in a way another attempt may fix (a 4xx SMTP reply, a 5xx or 429 from
 * an API, a dropped connection). Thrown as is, so the action retries; permanent failures are a
 * `NonRetryableError` whose `cause` is one of these.
 */
export class EmailDeliveryError extends Error {
  readonly provider: EmailProvider
  readonly responseCode?: number
  readonly status?: number
  /** nodemailer's or the API's error code; not named `code`, which do-sdk keeps for its own `ERR_*` codes. */
  readonly providerCode?: string
  readonly response?: string

  constructor(message: string, details: EmailDeliveryErrorDetails) {
    super(message.startsWith('[do-sdk]') ? message : `[do-sdk] [email] ${message}`)
    this.name = 'EmailDeliveryError'
    this.provider = details.provider
    if (details.responseCode !== undefined) this.responseCode = details.responseCode
    if (details.status !== undefined) this.status = details.status
    if (details.code !== undefined) this.providerCode = details.code
    if (details.response !== undefined) this.response = details.response
  }
}

/** Wraps a delivery error that must not be retried: the engine fails the step at once. */
export const permanent = (error: EmailDeliveryError): NonRetryableError => new NonRetryableError(error.message, { cause: error })

/** Wraps a delivery error that may be retried after `ms` (a `Retry-After`). */
export const retryAfter = (error: EmailDeliveryError, ms: number): RetryAfterError =>
  new RetryAfterError(`${error.message} (retry after ${ms} ms)`, ms, { cause: error })

const REDACTED = '[redacted]'

/**
 * Builds a function that removes secrets from a string: each secret as written, base64-encoded and
 * URL-encoded, plus any extra encoded forms given (e.g. an SMTP `AUTH PLAIN` token).
 */
export const redactor = (secrets: (string | undefined)[], encodedForms: string[] = []): ((text: string) => string) => {
  const forms = new Set<string>(encodedForms)
  for (const secret of secrets) {
    if (!secret) continue
    forms.add(secret)
    forms.add(Buffer.from(secret).toString('base64'))
    forms.add(encodeURIComponent(secret))
  }
  // Longest first, so that a secret contained in another form is not half-replaced.
  const list = [...forms].filter((f) => f.length >= 3).sort((a, b) => b.length - a.length)
  if (list.length === 0) return (text) => text
  return (text) => {
    let out = text
    for (const form of list) out = out.split(form).join(REDACTED)
    return out
  }
}

/** One line of a server reply, short enough for an error message. */
export const clip = (text: string, max = 300): string => {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine
}
