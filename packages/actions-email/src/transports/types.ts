import type { Logger } from '@do-sdk/core'
import type { EmailProvider } from '../errors.js'
import type { EmailMessage } from '../message.js'

/** What a transport gets for one attempt besides the message. */
export interface SendContext {
  /** Aborted on timeout or cancellation; passed on to nodemailer and fetch. */
  signal: AbortSignal
  /** Stable across the attempts of one call. */
  idempotencyKey: string
  attempt: number
  log: Logger
}

/** What one successful delivery returns. */
export interface SendResult {
  messageId: string
  accepted: string[]
  rejected: string[]
  response?: string
  file?: string
}

/**
 * Delivers one message. Throws an `EmailDeliveryError` for a failure another attempt may fix and a
 * `NonRetryableError` for one it will not; never puts a secret in what it throws.
 */
export interface EmailTransport {
  readonly provider: EmailProvider
  send(message: EmailMessage, ctx: SendContext): Promise<SendResult>
  /** Releases connections. */
  close(): Promise<void>
}
