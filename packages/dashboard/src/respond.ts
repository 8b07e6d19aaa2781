import { DoSdkError, ErrorCodes, type Logger } from '@do-sdk/core'
import { SchedulesUnsupported } from './schedule-commands.js'
import { type Refusal, securityHeaders } from './security.js'

/** Headers of every answer that is not a cached asset. */
const baseHeaders = (contentType: string): Headers => {
  const headers = new Headers(securityHeaders)
  headers.set('content-type', contentType)
  headers.set('cache-control', 'no-store')
  return headers
}

/**
 * A JSON answer (no-store). `<` and `>` are written as `\u003c` and `\u003e`: the same JSON, and no
 * markup even for a reader that sniffs it as HTML.
 */
export const json = (status: number, body: unknown, extra?: Record<string, string>): Response => {
  const headers = baseHeaders('application/json; charset=utf-8')
  for (const [k, v] of Object.entries(extra ?? {})) headers.set(k, v)
  const text = JSON.stringify(body).replace(/</g, '\\u003c').replace(/>/g, '\\u003e')
  return new Response(text, { status, headers })
}

/** A plain-text answer (no-store): refusals of pages say what to do in one sentence. */
export const text = (status: number, body: string, extra?: Record<string, string>): Response => {
  const headers = baseHeaders('text/plain; charset=utf-8')
  for (const [k, v] of Object.entries(extra ?? {})) headers.set(k, v)
  return new Response(body, { status, headers })
}

/** An HTML page (no-store: it carries the CSRF token). */
export const html = (body: string, setCookie?: string): Response => {
  const headers = baseHeaders('text/html; charset=utf-8')
  if (setCookie) headers.append('set-cookie', setCookie)
  return new Response(body, { status: 200, headers })
}

/** A compiled asset: its URL carries its version, so it may be cached for a day by this browser only. */
export const asset = (contentType: string, body: string): Response => {
  const headers = new Headers(securityHeaders)
  headers.set('content-type', contentType)
  headers.set('cache-control', 'private, max-age=86400')
  return new Response(body, { status: 200, headers })
}

/** A refusal, as JSON for the API and as text for pages. */
export const refusal = (r: Refusal, api: boolean): Response =>
  api ? json(r.status, { error: { code: r.code, message: r.message } }) : text(r.status, `${r.status} ${r.message}\n`)

/** The HTTP status for an engine error; unknown errors are 500s whose details stay in the log. */
export const errorResponse = (error: unknown, logger: Logger): Response => {
  const known: [string, number][] = [
    [ErrorCodes.RUN_NOT_FOUND, 404],
    [ErrorCodes.SCHEDULE_NOT_FOUND, 404],
    [ErrorCodes.INVALID_ARGUMENT, 400],
    [ErrorCodes.VALIDATION, 400],
    [ErrorCodes.WORKFLOW_NOT_FOUND, 409],
    [ErrorCodes.CONFLICT, 409],
    [ErrorCodes.SIZE_LIMIT, 413],
    [ErrorCodes.ENGINE_STATE, 503],
  ]
  if (error instanceof SchedulesUnsupported) return json(501, { error: { code: error.code, message: error.message } })
  if (DoSdkError.isInstance(error)) {
    const status = known.find(([code]) => code === error.code)?.[1]
    if (status !== undefined) {
      const body: Record<string, unknown> = { code: error.code, message: error.message }
      const issues = (error as { issues?: unknown }).issues
      if (issues !== undefined) body.issues = issues
      return json(status, { error: body })
    }
  }
  logger.error('[dashboard] request failed', { error })
  return json(500, { error: { code: 'INTERNAL', message: 'Internal error (see the server log).' } })
}
