import type { ActionContext } from '@do-sdk/core'
import { NonRetryableError, TimeoutError } from '@do-sdk/core'
import type { Dispatcher } from 'undici'
import { decodeBody, type EncodedBody, encodeBody, readBody } from './body.js'
import { HttpStatusError } from './errors.js'
import { HEADER_VALUE, mergeHeaders, responseHeaders } from './headers.js'
import { type ResolvedOptions, resolveAuth } from './options.js'
import { createRedactor, type Redactor } from './redact.js'
import { type FailureContext, IDEMPOTENT_METHODS, statusFailure, transportFailure } from './retry.js'
import type { HttpResponse, ParsedRequestInput } from './schema.js'
import { displayUrl, resolveUrl } from './url.js'

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** Headers that describe the body; dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location']
const ERROR_SNIPPET_BYTES = 1024

/** Reads up to `limit` bytes of an error response, then drops the rest. */
const readSnippet = async (body: Dispatcher.ResponseData['body'], limit: number): Promise<string> => {
  const chunks: Buffer[] = []
  let total = 0
  // Leaving the loop early destroys the stream, and undici then emits an abort 'error' nobody awaits.
  body.on('error', () => {})
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    total += chunk.length
    if (total >= limit) break
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8')
}

const resolveSecrets = async (options: ResolvedOptions) => {
  try {
    return await resolveAuth(options.auth)
  } catch (error) {
    // A token function that failed (vault down) may work next time; one that returned garbage will not.
    if ((error as { code?: string }).code === 'ERR_INVALID_ARGUMENT')
      throw new NonRetryableError((error as Error).message, { cause: error })
    throw error
  }
}

/**
 * Sends one attempt of a request: follows redirects by hand (each hop goes through the guarded
 * connector, is counted, and loses the credentials once it leaves the auth origin), then reads and
 * decodes the body. Every failure comes out classified for the retry loop (see `retry.ts`).
 */
export const sendRequest = async (
  options: ResolvedOptions,
  dispatcher: Dispatcher,
  input: ParsedRequestInput,
  ctx: ActionContext,
): Promise<HttpResponse> => {
  let url: URL
  try {
    url = resolveUrl(input.url, options.baseUrl, input.query)
  } catch (error) {
    throw new NonRetryableError(`[http] Invalid url: ${(error as Error).message}`)
  }
  const auth = await resolveSecrets(options)
  const redact: Redactor = createRedactor(auth?.secrets ?? [])
  const headers = mergeHeaders(options.headers, input.headers)
  if (input.idempotencyKey ?? options.sendIdempotencyKey) {
    // Standalone callers choose the key (`execute(input, { idempotencyKey })`): it must fit in a header.
    if (!HEADER_VALUE.test(ctx.idempotencyKey)) {
      throw new NonRetryableError(`[http] The idempotency key must not contain CR, LF or NUL (it is sent in ${options.idempotencyHeader})`)
    }
    headers[options.idempotencyHeader] = ctx.idempotencyKey
  }
  let method: string = input.method
  let encoded: EncodedBody | undefined = input.body ? encodeBody(input.body) : undefined
  if (encoded && headers['content-type'] === undefined) headers['content-type'] = encoded.contentType
  if (input.responseType === 'json' && headers.accept === undefined) headers.accept = 'application/json'

  const failure: FailureContext = {
    method,
    url: displayUrl(url),
    retrySafe: IDEMPOTENT_METHODS.has(method) || headers[options.idempotencyHeader] !== undefined,
    idempotencyHeader: options.idempotencyHeader,
  }
  // Credentials go to the auth origin only, and never again once a redirect has left it.
  const authOrigin = options.baseUrl?.origin ?? url.origin
  let sendAuth = auth !== undefined && url.origin === authOrigin

  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, options.totalTimeoutMs)
  const onAbort = () => controller.abort(ctx.signal.reason)
  if (ctx.signal.aborted) onAbort()
  else ctx.signal.addEventListener('abort', onAbort, { once: true })

  let redirects = 0
  try {
    for (;;) {
      const hopHeaders = sendAuth && auth ? { ...headers, [auth.name]: auth.value } : headers
      ctx.log.debug('[http] request', { method, url: displayUrl(url), attempt: ctx.attempt, redirects })
      const res = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers: hopHeaders,
        body: encoded?.payload,
        signal: controller.signal,
      })
      const location = res.headers.location
      if (REDIRECT_STATUSES.has(res.statusCode) && typeof location === 'string') {
        await res.body.dump()
        if (redirects >= options.maxRedirects) {
          throw new NonRetryableError(`[http] ${input.method} ${failure.url}: more than ${options.maxRedirects} redirects (maxRedirects)`)
        }
        let next: URL
        try {
          next = resolveUrl(new URL(location, url).href, undefined)
        } catch (error) {
          throw new NonRetryableError(`[http] ${displayUrl(url)} redirected to an unusable location: ${(error as Error).message}`)
        }
        redirects++
        if ((res.statusCode === 303 && method !== 'HEAD') || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET'
          encoded = undefined
          for (const h of BODY_HEADERS) delete headers[h]
        }
        if (next.origin !== url.origin) {
          sendAuth = sendAuth && next.origin === authOrigin
          delete headers.cookie
        }
        url = next
        failure.url = displayUrl(url)
        continue
      }
      if (res.statusCode >= 400) {
        const snippet = redact.text(await readSnippet(res.body, ERROR_SNIPPET_BYTES))
        throw statusFailure(new HttpStatusError(res.statusCode, input.method, failure.url, snippet), res.headers['retry-after'], failure)
      }
      const empty = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304
      let bytes: Buffer = Buffer.alloc(0)
      if (empty) await res.body.dump()
      else bytes = await readBody(res.body, options.maxResponseBytes, res.headers['content-length'], failure.url)
      const contentType = res.headers['content-type']
      const decoded = decodeBody(bytes, input.responseType, typeof contentType === 'string' ? contentType : undefined, redact, failure.url)
      ctx.log.debug('[http] response', { method: input.method, url: failure.url, status: res.statusCode, redirects, bytes: bytes.length })
      return {
        status: res.statusCode,
        headers: responseHeaders(res.headers, input.includeHeaders, redact.text),
        body: decoded.body,
        bodyType: decoded.bodyType,
        url: url.href,
        redirects,
      }
    }
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error
    if (timedOut) {
      const timeout = new TimeoutError(
        `[http] ${input.method} ${failure.url} timed out after ${options.totalTimeoutMs} ms (timeouts.total)`,
        options.totalTimeoutMs,
        { cause: error },
      )
      if (failure.retrySafe) throw timeout
      throw new NonRetryableError(`${timeout.message}; not retried: ${input.method} is not idempotent`, { cause: timeout })
    }
    throw transportFailure(error, failure, {
      connectMs: options.connectTimeoutMs,
      headersMs: options.headersTimeoutMs,
      bodyMs: options.bodyTimeoutMs,
    })
  } finally {
    clearTimeout(timer)
    ctx.signal.removeEventListener('abort', onAbort)
  }
}
