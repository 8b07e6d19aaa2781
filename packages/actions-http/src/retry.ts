import { DoSdkError, NonRetryableError, RetryAfterError, TimeoutError } from '@do-sdk/core'
import { HttpStatusError } from './errors.js'

/** Methods that may be repeated without changing the result (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])

/** Statuses worth another attempt: request timeout, too early, too many requests, and server errors. */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 425 || status === 429 || status >= 500

/**
 * Parses a `Retry-After` value (delay in seconds, or an HTTP date) into ms from `now`; `undefined`
 * when absent or malformed. A date in the past gives 0.
 */
export const parseRetryAfter = (value: string | string[] | undefined, now = Date.now()): number | undefined => {
  const text = (Array.isArray(value) ? value[0] : value)?.trim()
  if (!text) return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // An HTTP date has a day or month name; a bare "-5" would otherwise parse as a year.
  if (!/[a-z]/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

const notRetried = (method: string, idempotencyHeader: string) =>
  `not retried: ${method} is not idempotent and no ${idempotencyHeader} header was sent`

/** What a request attempt needs to know to classify its failures. */
export interface FailureContext {
  method: string
  /** The URL for messages (no query string). */
  url: string
  /** Idempotent method, or an idempotency key header was sent. */
  retrySafe: boolean
  /** For messages. */
  idempotencyHeader: string
}

/**
 * The error an error status becomes: a retryable {@link HttpStatusError}, a `RetryAfterError` when the
 * server said when to come back, or a `NonRetryableError` (other 4xx, or an unsafe request).
 */
export const statusFailure = (error: HttpStatusError, retryAfter: string | string[] | undefined, ctx: FailureContext): Error => {
  if (!isRetryableStatus(error.status)) {
    return new NonRetryableError(`[http] ${ctx.method} ${ctx.url} answered ${error.status}`, { cause: error })
  }
  if (!ctx.retrySafe) {
    return new NonRetryableError(
      `[http] ${ctx.method} ${ctx.url} answered ${error.status}; ${notRetried(ctx.method, ctx.idempotencyHeader)}`,
      {
        cause: error,
      },
    )
  }
  const ms = parseRetryAfter(retryAfter)
  if (ms === undefined) return error
  return new RetryAfterError(`[http] ${ctx.method} ${ctx.url} answered ${error.status}; retry after ${ms} ms`, ms, { cause: error })
}

/** Failures that happen before a byte of the request is sent: always safe to retry. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

/** Timeout values an attempt runs under, in ms, for messages. */
export interface TimeoutContext {
  connectMs: number
  headersMs: number
  bodyMs: number
}

/**
 * The error a transport failure becomes. Our own errors (SSRF refusal, size limit, bad JSON) pass as
 * they are; undici timeouts become `TimeoutError`s; a failure after the request may have reached the
 * server becomes a `NonRetryableError` unless the request is retry-safe.
 */
export const transportFailure = (error: unknown, ctx: FailureContext, timeouts: TimeoutContext): unknown => {
  if (DoSdkError.isInstance(error) || error instanceof HttpStatusError) return error
  const code = (error as { code?: string } | null)?.code ?? ''
  const cause = error
  let failure: Error
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TimeoutError(`[http] ${ctx.method} ${ctx.url}: connect timed out after ${timeouts.connectMs} ms`, timeouts.connectMs, {
      cause,
    })
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    failure = new TimeoutError(`[http] ${ctx.method} ${ctx.url}: no response headers within ${timeouts.headersMs} ms`, timeouts.headersMs, {
      cause,
    })
  } else if (code === 'UND_ERR_BODY_TIMEOUT') {
    failure = new TimeoutError(`[http] ${ctx.method} ${ctx.url}: response body stalled for ${timeouts.bodyMs} ms`, timeouts.bodyMs, {
      cause,
    })
  } else if (code === 'UND_ERR_INVALID_ARG') {
    // undici refused the request before sending it (an invalid header value…): another attempt would too.
    const message = error instanceof Error ? error.message : String(error)
    return new NonRetryableError(`[http] ${ctx.method} ${ctx.url}: request refused before sending: ${message}`, { cause: error })
  } else {
    const message = error instanceof Error ? error.message : String(error)
    failure = Object.assign(
      new Error(`[do-sdk] [http] ${ctx.method} ${ctx.url} failed: ${message}${code ? ` (${code})` : ''}`, { cause }),
      {
        code,
      },
    )
    if (CONNECT_CODES.has(code)) return failure
  }
  if (ctx.retrySafe) return failure
  return new NonRetryableError(`${failure.message}; ${notRetried(ctx.method, ctx.idempotencyHeader)}`, { cause: failure })
}
