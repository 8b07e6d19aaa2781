import { NonRetryableError } from '@do-sdk/core'
import type { AddressClass } from './address.js'
import { describeRefusal, type Refusal } from './ssrf.js'

/**
 * The SSRF policy refused a connection: the host resolved (or was) a non-public address that
 * `allow` does not open. Never retried.
 */
export class BlockedAddressError extends NonRetryableError {
  /** The host as requested (URL host name). */
  readonly host: string
  /** The address it resolved to or connected to. */
  readonly address: string
  /** Why that address is not public. */
  readonly addressClass: AddressClass

  constructor(refusal: Refusal) {
    super(
      `[http] Refused to connect: ${describeRefusal(refusal)}. ` +
        `Non-public addresses are blocked (SSRF protection); open it with httpActions({ allow: [...] }) if you trust it.`,
    )
    this.name = 'BlockedAddressError'
    this.host = refusal.host
    this.address = refusal.address
    this.addressClass = refusal.addressClass
  }
}

/**
 * A response with an error status (4xx/5xx). Thrown as is when the attempt may be retried, else as the
 * `cause` of a `NonRetryableError` or a `RetryAfterError`; {@link httpStatusOf} finds it either way.
 */
export class HttpStatusError extends Error {
  /** The response status, e.g. 503. */
  readonly status: number
  readonly method: string
  /** The URL that answered (after redirects). */
  readonly url: string
  /** Up to 1 KiB of the response body, as text, with configured secrets redacted. */
  readonly body: string

  constructor(status: number, method: string, url: string, body: string) {
    super(`[do-sdk] [http] ${method} ${url} answered ${status}`)
    this.name = 'HttpStatusError'
    this.status = status
    this.method = method
    this.url = url
    this.body = body
  }
}

/** The HTTP status behind an error thrown by an HTTP action (looks through `cause`), or `undefined`. */
export const httpStatusOf = (error: unknown): number | undefined => {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof HttpStatusError) return e.status
  }
  return undefined
}
