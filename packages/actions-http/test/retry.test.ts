import { ActionFailedError, memoryStore, NonRetryableError, RetryAfterError, SizeLimitError, TimeoutError, workflow } from '@do-sdk/core'
import { createTestEngine, virtualClock } from '@do-sdk/core/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HttpStatusError, httpActions, httpStatusOf, parseRetryAfter } from '../src/index.js'
import { json, startServer, type TestServer } from './server.js'

const fast = { retries: 3, minTimeout: 1, factor: 1 }

let server: TestServer
const opened: { close(): Promise<void> }[] = []
const make = (options: Parameters<typeof httpActions>[0] = {}) => {
  const http = httpActions({ allow: ['127.0.0.1'], baseUrl: server.origin, retry: fast, ...options })
  opened.push(http)
  return http
}
beforeAll(async () => {
  server = await startServer()
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()))
})
afterAll(() => server.close())

/** Answers `statuses[n-1]` to the n-th request (counted from now), then 200. */
const sequence = (statuses: number[], headers: Record<string, string> = {}) => {
  const start = server.requests.length
  server.handle((_req, res) => {
    const n = server.requests.length - start
    const status = statuses[n - 1] ?? 200
    json(res, status, { n }, status === 200 ? {} : headers)
  })
  return () => server.requests.length - start
}

describe('retries', () => {
  // docs/packs/http.md: "408, 425, 429, 5xx | retried"
  it('retries 503 on GET and counts the attempts', async () => {
    const count = sequence([503, 503])
    const out = await make().get.execute({ url: '/flaky' })
    expect(out).toMatchObject({ status: 200, body: { n: 3 } })
    expect(count()).toBe(3)
  })

  // docs/packs/http.md: "408, 425, 429, 5xx | retried"
  it.each([408, 425, 429, 500, 502, 504])('retries %i on idempotent methods', async (status) => {
    const count = sequence([status])
    await expect(make().put.execute({ url: '/x', body: { type: 'json', data: 1 } })).resolves.toMatchObject({ status: 200 })
    expect(count()).toBe(2)
  })

  // docs/packs/http.md: "`httpStatusOf(err)` finds the status through `ActionFailedError` and `cause` chains"
  it('gives up after the policy and keeps the status reachable', async () => {
    const count = sequence([503, 503, 503, 503, 503])
    const err = await make()
      .get.execute({ url: '/down' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.attempts).toBe(4)
    expect(err.cause).toBeInstanceOf(HttpStatusError)
    expect(httpStatusOf(err)).toBe(503)
    expect(count()).toBe(4)
  })

  // docs/packs/http.md: "other 4xx | `NonRetryableError`"
  it('404 is a NonRetryableError with the status, tried once', async () => {
    server.handle((_req, res) => json(res, 404, { error: 'no such user' }))
    const before = server.requests.length
    const err = await make()
      .get.execute({ url: '/users/9' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/users\/9 answered 404/)
    expect(httpStatusOf(err)).toBe(404)
    expect(err.cause.body).toContain('no such user')
    expect(server.requests.length - before).toBe(1)
  })

  // docs/packs/http.md: "`body`, the first KiB of the response, redacted"
  it('keeps 1 KiB of a large error body and drops the rest', async () => {
    server.handle((_req, res) => json(res, 400, { detail: 'y'.repeat(10_000) }))
    const err = await make()
      .post.execute({ url: '/big-error' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.cause.body).toHaveLength(1024)
    expect(err.cause.body.startsWith('{"detail":"yyy')).toBe(true)
  })

  // docs/packs/http.md: "connection refused, DNS failure, connect timeout (nothing was sent) | retried | retried"
  it('a failed connection (nothing sent) is retried for any method', async () => {
    const gone = await startServer()
    await gone.close()
    const http = make({ baseUrl: gone.origin, retry: { retries: 2, minTimeout: 1 } })
    const err = await http.post.execute({ url: '/x', body: { type: 'json', data: 1 } }).catch((e) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.attempts).toBe(3)
    expect(err.cause.code).toBe('ECONNREFUSED')
  })

  // docs/packs/http.md: "connection reset, headers or body timeout, `timeouts.total` | retried … | `NonRetryableError`"
  it('a connection dropped after sending is retried on GET, not on POST without a key', async () => {
    const start = server.requests.length
    server.handle((req, res) => (server.requests.length - start === 1 ? req.socket.destroy() : res.end('ok')))
    await expect(make().get.execute({ url: '/drop' })).resolves.toMatchObject({ status: 200, body: 'ok' })
    const start2 = server.requests.length
    server.handle((req) => req.socket.destroy())
    const err = await make()
      .post.execute({ url: '/drop' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/not retried: POST is not idempotent and no idempotency-key header was sent/)
    expect(server.requests.length - start2).toBe(1)
  })
})

describe('Retry-After', () => {
  // docs/packs/http.md: "`Retry-After` (delay in seconds, or an HTTP date) becomes `RetryAfterError(ms)`"
  it('429 with Retry-After in seconds throws RetryAfterError with that many ms', async () => {
    sequence([429], { 'retry-after': '7' })
    const err = await make()
      .get.attempt({ url: '/limited' }, { idempotencyKey: 'k', attempt: 1 })
      .catch((e) => e)
    expect(err).toBeInstanceOf(RetryAfterError)
    expect(err.retryAfterMs).toBe(7000)
    expect(httpStatusOf(err)).toBe(429)
  })

  // docs/packs/http.md: "`Retry-After` (delay in seconds, or an HTTP date) becomes `RetryAfterError(ms)`"
  it('an HTTP date becomes the ms until then', async () => {
    sequence([503], { 'retry-after': new Date(Date.now() + 5000).toUTCString() })
    const err = await make()
      .get.attempt({ url: '/limited' }, { idempotencyKey: 'k', attempt: 1 })
      .catch((e) => e)
    expect(err).toBeInstanceOf(RetryAfterError)
    expect(err.retryAfterMs).toBeGreaterThan(3000)
    expect(err.retryAfterMs).toBeLessThanOrEqual(5000)
  })

  // docs/packs/http.md: "Standalone, `execute` sleeps it."
  it('is waited for by the retry loop', async () => {
    const count = sequence([429, 429], { 'retry-after': '0' })
    await expect(make({ retry: { retries: 2, minTimeout: 60_000 } }).get.execute({ url: '/' })).resolves.toMatchObject({ status: 200 })
    expect(count()).toBe(3)
  })

  it('parses seconds and dates, ignores garbage', () => {
    const now = Date.parse('2025-01-01T00:00:00Z')
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-5', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })
})

describe('Retry-After in a workflow', () => {
  // docs/packs/http.md: "The engine waits a short one in process and turns a long one (`Retry-After: 3600`) into a durable timer, so a rate-limited run survives a restart instead of holding a process."
  it('a 429 with Retry-After: 3600 puts the run to sleep for an hour, across a restart', async () => {
    const count = sequence([429], { 'retry-after': '3600' })
    const http = make()
    const wf = workflow.create({ id: 'rate-limited', run: async ({ step }) => (await step.run(http.get, { url: '/limited' })).body })
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const first = createTestEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    expect(await first.getRun(run.id)).toMatchObject({ status: 'sleeping' })
    expect((await first.getRun(run.id)).steps[0]).toMatchObject({ id: 'http.get#1', status: 'retrying', until: clock.now() + 3_600_000 })
    expect(count()).toBe(1)
    first.kill()
    const second = createTestEngine({ workflows: [wf], store, clock })
    await second.start()
    await second.advance('59m')
    expect(count()).toBe(1)
    await second.advance('1m')
    expect(count()).toBe(2)
    expect(await second.getRun(run.id)).toMatchObject({ status: 'completed', output: { n: 2 } })
    await second.stop()
  })
})

describe('idempotency keys', () => {
  // docs/packs/http.md: "408, 425, 429, 5xx … | `NonRetryableError`"
  it('POST is not retried without an idempotency key', async () => {
    const count = sequence([503, 503])
    const err = await make()
      .post.execute({ url: '/charge', body: { type: 'json', data: { cents: 100 } } })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/answered 503; not retried/)
    expect(count()).toBe(1)
    expect(server.requests.at(-1)?.headers['idempotency-key']).toBeUndefined()
  })

  // docs/packs/http.md: "Only then is a POST retried after it may have reached the server"
  it('POST with the key is retried, the key being ctx.idempotencyKey on every attempt', async () => {
    const count = sequence([503, 500])
    const http = make({ sendIdempotencyKey: true })
    const out = await http.post.execute({ url: '/charge', body: { type: 'json', data: 1 } }, { idempotencyKey: 'run-1:charge#1' })
    expect(out.status).toBe(200)
    expect(count()).toBe(3)
    expect(server.requests.slice(-3).map((r) => r.headers['idempotency-key'])).toEqual([
      'run-1:charge#1',
      'run-1:charge#1',
      'run-1:charge#1',
    ])
  })

  // docs/packs/http.md: "the same on every attempt of the step"
  it('a fresh key per call standalone, stable across its attempts; per-request switch and header name', async () => {
    const count = sequence([503])
    const http = make({ idempotencyHeader: 'X-Request-Id' })
    await http.post.execute({ url: '/a', idempotencyKey: true })
    expect(count()).toBe(2)
    const [first, second] = server.requests.slice(-2).map((r) => r.headers['x-request-id'])
    expect(first).toMatch(/^[0-9a-f-]{36}$/)
    expect(second).toBe(first)
  })

  // docs/packs/http.md: "A key header you set yourself in `headers` counts too."
  it('a key header set by the caller also makes the request retry-safe', async () => {
    const count = sequence([502])
    await make().post.execute({ url: '/a', headers: { 'Idempotency-Key': 'mine' } })
    expect(count()).toBe(2)
  })

  // docs/packs/http.md: "the input's `idempotencyKey` overrides per request"
  it('input idempotencyKey: false turns the option off for one request', async () => {
    const count = sequence([503])
    await expect(make({ sendIdempotencyKey: true }).post.execute({ url: '/a', idempotencyKey: false })).rejects.toBeInstanceOf(
      NonRetryableError,
    )
    expect(count()).toBe(1)
  })
})

describe('timeouts and size limits', () => {
  // docs/packs/http.md: "`timeouts.total` | `60_000` | the whole attempt"
  it('a server that never answers: the total timeout aborts the attempt with a TimeoutError', async () => {
    server.handle(() => {})
    const started = Date.now()
    const err = await make({ retry: false, timeouts: { total: 150 } })
      .get.execute({ url: '/hang' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect(err.message).toMatch(/timed out after 150 ms \(timeouts.total\)/)
    expect(Date.now() - started).toBeLessThan(2000)
  })

  // docs/packs/http.md: "`timeouts.headers` | `30_000` | from sending the request to the response headers"
  it('headers timeout', async () => {
    server.handle(() => {})
    const err = await make({ retry: false, timeouts: { headers: 100 } })
      .get.execute({ url: '/hang' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect(err.timeoutMs).toBe(100)
    expect(err.message).toMatch(/no response headers within 100 ms/)
  })

  // docs/packs/http.md: "connection reset, headers or body timeout, `timeouts.total` | retried (`TimeoutError` for timeouts) | `NonRetryableError`"
  it('headers timeout on a POST without a key is not retried', async () => {
    server.handle(() => {})
    const before = server.requests.length
    const err = await make({ timeouts: { headers: 80 } })
      .post.execute({ url: '/hang' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.cause).toBeInstanceOf(TimeoutError)
    expect(server.requests.length - before).toBe(1)
  })

  // docs/packs/http.md: "`timeouts.body` | `30_000` | longest silence between two body chunks"
  it('body timeout: the body stalls', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial')
    })
    const err = await make({ retry: false, timeouts: { body: '100ms' } })
      .get.execute({ url: '/stall' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect(err.message).toMatch(/body stalled for 100 ms/)
  })

  it('the caller’s signal aborts the request', async () => {
    server.handle(() => {})
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('caller gave up')), 50)
    await expect(make({ retry: false }).get.execute({ url: '/hang' }, { signal: controller.signal })).rejects.toThrow('caller gave up')
  })

  // docs/packs/http.md: "larger bodies fail with `SizeLimitError` (not retried)"
  it('maxResponseBytes: a declared or streamed body above it fails with SizeLimitError, without retry', async () => {
    const http = make({ maxResponseBytes: 1000 })
    server.handle((_req, res) => res.end('x'.repeat(1000)))
    await expect(http.get.execute({ url: '/exact' })).resolves.toMatchObject({ body: 'x'.repeat(1000) })
    server.handle((_req, res) => res.end('x'.repeat(2000)))
    const before = server.requests.length
    const declared = await http.get.execute({ url: '/big' }).catch((e) => e)
    expect(declared).toBeInstanceOf(SizeLimitError)
    expect(declared.limit).toBe(1000)
    expect(server.requests.length - before).toBe(1)
    server.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(100))
      res.end()
    })
    const streamed = await http.get.execute({ url: '/chunked' }).catch((e) => e)
    expect(streamed).toBeInstanceOf(SizeLimitError)
    expect(streamed.message).toMatch(/larger than maxResponseBytes \(1000 bytes\)/)
  })
})
