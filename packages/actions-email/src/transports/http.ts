import { clip, EmailDeliveryError, permanent, retryAfter } from '../errors.js'

/** An email API's error, as read from its JSON body. */
export interface ApiErrorDetail {
  code?: string
  message?: string
}

/** One JSON POST to an email API. */
export interface JsonPost {
  provider: 'resend' | 'postmark'
  url: string
  headers: Record<string, string>
  body: unknown
  signal: AbortSignal
  /** Removes the API key from anything the server sends back. */
  redact: (text: string) => string
  /** Reads the API's error body. */
  errorDetail: (body: unknown) => ApiErrorDetail
  /** Extra statuses to retry besides 408, 429 and 5xx (e.g. Resend's concurrent idempotent request). */
  retryable?: (status: number, detail: ApiErrorDetail) => boolean
}

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); `undefined` when absent or unreadable. */
export const parseRetryAfter = (value: string | null, now = Date.now()): number | undefined => {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

const parseJson = (text: string): unknown => {
  try {
    return text ? JSON.parse(text) : {}
  } catch {
    return {}
  }
}

/**
 * POSTs JSON and returns the parsed answer of a 2xx. Maps failures for the action's retry loop:
 * network errors, 408, 429 (honouring `Retry-After`) and 5xx are retried; other 4xx are not.
 * Redirects are refused, so the API key is never replayed to another host.
 */
export const postJson = async (req: JsonPost): Promise<unknown> => {
  const path = new URL(req.url).pathname
  let res: Response
  let text: string
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...req.headers },
      body: JSON.stringify(req.body),
      signal: req.signal,
      redirect: 'error',
    })
  } catch (error) {
    if (req.signal.aborted) throw req.signal.reason ?? error
    const err = error as Error
    const why = err.cause instanceof Error ? `${err.message} (${err.cause.message})` : String(err?.message ?? err)
    const failure = new EmailDeliveryError(`[${req.provider}] POST ${path} failed: ${clip(req.redact(why))}`, { provider: req.provider })
    // A redirect is refused so that the API key never goes to another host; asking again changes nothing.
    throw err.cause instanceof Error && err.cause.message === 'unexpected redirect' ? permanent(failure) : failure
  }
  if (res.ok) {
    // A 2xx means the message was accepted: never retry it, even if the body cannot be read.
    try {
      return parseJson(await res.text())
    } catch {
      return {}
    }
  }
  try {
    text = await res.text()
  } catch {
    text = ''
  }

  const detail = req.errorDetail(parseJson(text))
  const said = clip(req.redact(detail.message ?? text)) || res.statusText
  const error = new EmailDeliveryError(
    `[${req.provider}] POST ${path} answered ${res.status}${detail.code ? ` ${detail.code}` : ''}: ${said}`,
    {
      provider: req.provider,
      status: res.status,
      ...(detail.code ? { code: req.redact(detail.code) } : {}),
      response: said,
    },
  )
  if (res.status === 429) {
    const wait = parseRetryAfter(res.headers.get('retry-after'))
    throw wait === undefined ? error : retryAfter(error, wait)
  }
  if (res.status >= 500 || res.status === 408 || req.retryable?.(res.status, detail)) throw error
  throw permanent(error)
}
