import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { ActionFailedError, NonRetryableError, RetryAfterError } from '@do-sdk/core'
import { afterEach, describe, expect, it } from 'vitest'
import { EmailDeliveryError, emailActions } from '../src/index.js'
import { type FakeApi, type FakeResponse, type RecordedRequest, startFakeApi } from './helpers/http-server.js'
import { recordingLogger } from './helpers/logger.js'

const API_KEY = 're_live_Sup3rSecretKey'
const fast = { retries: 3, minTimeout: 2, factor: 1 }
const input = { to: 'bob@example.com', subject: 'Hi', text: 'Hello' }

let api: FakeApi | undefined
afterEach(async () => {
  await api?.close()
  api = undefined
})

const setup = async (respond: (req: RecordedRequest, n: number) => FakeResponse, retry: typeof fast | false = fast) => {
  api = await startFakeApi(respond)
  const email = emailActions({
    transport: { type: 'resend', apiKey: API_KEY, baseUrl: `${api.baseUrl}/` },
    from: 'Acme <hello@acme.test>',
    retry,
  })
  return { api, email }
}

const ok: FakeResponse = { status: 200, body: { id: 'email_123' } }

describe('resend transport against a local HTTP server', () => {
  // docs/packs/email.md: "Calls `POST {baseUrl}/emails` with Resend's JSON body"
  it('POSTs /emails with the key, the JSON body and the idempotency key', async () => {
    const { api, email } = await setup(() => ok)
    const out = await email.sendEmail.execute(
      {
        to: ['Bob <bob@example.com>', 'carol@example.com'],
        cc: 'dave@example.com',
        bcc: 'erin@example.com',
        replyTo: 'support@acme.test',
        subject: 'Welcome',
        text: 'Hello',
        html: '<p>Hello</p>',
        headers: { 'X-Campaign': 'w1' },
        attachments: [{ filename: 'a.txt', content: 'abc', contentType: 'text/plain', contentId: 'logo' }],
        tags: [{ name: 'category', value: 'welcome' }],
      },
      { idempotencyKey: 'onboarding:usr_1:send-welcome#1' },
    )
    expect(api.requests).toHaveLength(1)
    const [req] = api.requests
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/emails')
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(req.headers['content-type']).toBe('application/json')
    expect(req.headers['idempotency-key']).toBe('onboarding:usr_1:send-welcome#1')
    expect(req.body).toEqual({
      from: 'Acme <hello@acme.test>',
      to: ['Bob <bob@example.com>', 'carol@example.com'],
      cc: ['dave@example.com'],
      bcc: ['erin@example.com'],
      reply_to: ['support@acme.test'],
      subject: 'Welcome',
      text: 'Hello',
      html: '<p>Hello</p>',
      headers: { 'X-Campaign': 'w1' },
      attachments: [{ filename: 'a.txt', content: Buffer.from('abc').toString('base64'), content_type: 'text/plain', content_id: 'logo' }],
      tags: [{ name: 'category', value: 'welcome' }],
    })
    expect(out).toEqual({
      provider: 'resend',
      messageId: 'email_123',
      accepted: ['bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com'],
      rejected: [],
    })
  })

  // docs/packs/email.md: "A string holds exactly one mailbox"
  it('quotes display names that hold specials, so a comma cannot split one mailbox in two', async () => {
    const { api, email } = await setup(() => ok)
    await email.sendEmail.execute({ ...input, to: [{ name: 'Doe, "JJ" Jane', address: 'jane@example.com' }, '"Zoë" <zoe@example.com>'] })
    expect(api.requests[0].body.to).toEqual(['"Doe, \\"JJ\\" Jane" <jane@example.com>', '"Zoë" <zoe@example.com>'])
  })

  // docs/packs/email.md: "hashed when longer than 256 characters or not printable ASCII"
  it('hashes an idempotency key Resend would not take (too long)', async () => {
    const { api, email } = await setup(() => ok)
    await email.sendEmail.execute(input, { idempotencyKey: 'k'.repeat(300) })
    expect(api.requests[0].headers['idempotency-key']).toMatch(/^sha256-[0-9a-f]{64}$/)
  })

  // docs/packs/email.md: "HTTP 429 with `Retry-After` (seconds or an HTTP date) | `RetryAfterError`"
  it('honours 429 Retry-After and sends the same Idempotency-Key again', async () => {
    const { api, email } = await setup((_req, n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '0' }, body: { name: 'rate_limit_exceeded', message: 'Too many requests' } } : ok,
    )
    const out = await email.sendEmail.execute(input)
    expect(out.messageId).toBe('email_123')
    expect(api.requests).toHaveLength(2)
    expect(api.requests[1].headers['idempotency-key']).toBe(api.requests[0].headers['idempotency-key'])
  })

  // docs/packs/email.md: "`RetryAfterError` with `retryAfterMs`"
  it('turns Retry-After into a RetryAfterError with the delay in ms', async () => {
    const { email } = await setup(
      () => ({ status: 429, headers: { 'retry-after': '7' }, body: { name: 'rate_limit_exceeded', message: 'slow down' } }),
      false,
    )
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(RetryAfterError)
    expect(err.retryAfterMs).toBe(7000)
    expect(err.cause).toBeInstanceOf(EmailDeliveryError)
    expect(err.cause.status).toBe(429)
  })

  // docs/packs/email.md: "HTTP 429 without `Retry-After`, 408, 5xx, network failure | `EmailDeliveryError` (`status`) | yes"
  it('retries a 500 with the same key', async () => {
    const { api, email } = await setup((_req, n) =>
      n < 3 ? { status: 500, body: { name: 'internal_server_error', message: 'oops' } } : ok,
    )
    await email.sendEmail.execute(input)
    expect(api.requests).toHaveLength(3)
    expect(new Set(api.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1)
  })

  // docs/packs/email.md: "Resend 409 `concurrent_idempotent_requests` | `EmailDeliveryError` | yes"
  it('retries a concurrent idempotent request (409) but not a mismatched one', async () => {
    const { api, email } = await setup((_req, n) =>
      n === 1
        ? { status: 409, body: { name: 'concurrent_idempotent_requests', message: 'in progress' } }
        : n === 2
          ? ok
          : { status: 409, body: { name: 'invalid_idempotent_request', message: 'payload differs' } },
    )
    await email.sendEmail.execute(input)
    expect(api.requests).toHaveLength(2)
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(api.requests).toHaveLength(3)
  })

  // docs/packs/email.md: "other HTTP 4xx (400, 401, 403, 409, 422…) | `NonRetryableError`"
  it('does not retry a 422 and says what the API said', async () => {
    const { api, email } = await setup(() => ({
      status: 422,
      body: { name: 'validation_error', message: 'The `from` domain is not verified' },
    }))
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/\[resend\] POST \/emails answered 422 validation_error: The `from` domain is not verified/)
    expect(api.requests).toHaveLength(1)
  })

  // docs/packs/email.md: "After the last attempt, `execute` throws core's `ActionFailedError`"
  it('gives up after the retries on a lasting 503', async () => {
    const { api, email } = await setup(() => ({ status: 503, body: {} }))
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.cause.status).toBe(503)
    expect(api.requests).toHaveLength(4)
  })

  // docs/packs/email.md: "the Resend API key and the Postmark token are replaced with `[redacted]`"
  it('keeps the API key out of errors and logs, even when the server echoes it', async () => {
    const { email } = await setup((req) => ({
      status: 401,
      body: { name: 'invalid_api_key', message: `API key ${String(req.headers.authorization)} is invalid` },
    }))
    const { lines, log } = recordingLogger()
    const err = await email.sendEmail.execute(input, { log }).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    const everything = `${err.message} ${inspect(err, { depth: 10 })} ${JSON.stringify(lines)}`
    expect(everything).toContain('[redacted]')
    expect(everything).not.toContain(API_KEY)
  })

  // docs/packs/email.md: "network failure | `EmailDeliveryError` (`status`) | yes"
  it('retries when the API cannot be reached, then fails with the network error', async () => {
    const { api, email } = await setup(() => ok)
    await api.close()
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.attempts).toBe(4)
    expect(err.cause).toBeInstanceOf(EmailDeliveryError)
    expect(err.cause.message).toMatch(/\[resend\] POST \/emails failed: fetch failed \(.*ECONNREFUSED/)
  })

  // docs/packs/email.md: "HTTP redirects are refused, so an API key is never replayed to another host."
  it('refuses a redirect, without retry, and the other host never sees the key', async () => {
    const elsewhere = await startFakeApi(() => ok)
    try {
      const { api, email } = await setup(() => ({ status: 307, headers: { location: `${elsewhere.baseUrl}/emails` } }))
      const err = await email.sendEmail.execute(input).catch((e) => e)
      expect(err).toBeInstanceOf(NonRetryableError)
      expect(err.message).toMatch(/unexpected redirect/)
      expect(api.requests).toHaveLength(1)
      expect(elsewhere.requests).toHaveLength(0)
    } finally {
      await elsewhere.close()
    }
  })

  // docs/packs/email.md: "A 2xx answer is never retried, even if its body cannot be read: the message was accepted."
  it('a 2xx whose body is cut off or not JSON is a success, sent once', async () => {
    let requests = 0
    const server = createServer((req, res) => {
      requests++
      req.resume()
      req.on('end', () => {
        if (requests === 1) {
          // Headers promise 100 bytes; the connection dies after 5.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
          res.write('{"id"', () => res.destroy())
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>')
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const email = emailActions({
        transport: { type: 'resend', apiKey: API_KEY, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
        from: 'hello@acme.test',
        retry: fast,
      })
      const cut = await email.sendEmail.execute(input)
      expect(cut).toMatchObject({ provider: 'resend', accepted: ['bob@example.com'] })
      expect(cut.messageId).toMatch(/^<[0-9a-f]{40}@acme\.test>$/)
      expect(requests).toBe(1)
      await email.sendEmail.execute(input)
      expect(requests).toBe(2)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
