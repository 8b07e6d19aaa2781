import { inspect } from 'node:util'
import { NonRetryableError } from '@do-sdk/core'
import { afterEach, describe, expect, it } from 'vitest'
import { emailActions } from '../src/index.js'
import { type FakeApi, type FakeResponse, type RecordedRequest, startFakeApi } from './helpers/http-server.js'

const TOKEN = 'pm-server-token-0123456789'
const fast = { retries: 3, minTimeout: 2, factor: 1 }
const input = { to: 'bob@example.com', subject: 'Hi', text: 'Hello' }
const ok: FakeResponse = {
  status: 200,
  body: { ErrorCode: 0, Message: 'OK', MessageID: 'b7bc2f4a-e38e-4336-af7d-e6c392c2f817', To: 'bob@example.com' },
}

let api: FakeApi | undefined
afterEach(async () => {
  await api?.close()
  api = undefined
})

const setup = async (respond: (req: RecordedRequest, n: number) => FakeResponse, messageStream?: string) => {
  api = await startFakeApi(respond)
  const email = emailActions({
    transport: { type: 'postmark', serverToken: TOKEN, baseUrl: api.baseUrl, messageStream },
    from: { name: 'Acme', address: 'hello@acme.test' },
    retry: fast,
  })
  return { api, email }
}

describe('postmark transport against a local HTTP server', () => {
  it('POSTs /email with the server token and the Postmark body, the key in Metadata', async () => {
    const { api, email } = await setup(() => ok, 'broadcast')
    const out = await email.sendEmail.execute(
      {
        to: ['Bob <bob@example.com>', 'carol@example.com'],
        cc: 'dave@example.com',
        replyTo: 'support@acme.test',
        subject: 'Welcome',
        text: 'Hello',
        html: '<p>Hello</p>',
        headers: { 'X-Campaign': 'w1' },
        attachments: [{ filename: 'logo.png', content: 'iVBORw0KGgo=', encoding: 'base64', contentType: 'image/png', contentId: 'logo' }],
        tags: [{ name: 'category', value: 'welcome' }],
      },
      { idempotencyKey: 'onboarding:usr_1:send#1' },
    )
    const [req] = api.requests
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/email')
    expect(req.headers['x-postmark-server-token']).toBe(TOKEN)
    expect(req.headers.accept).toBe('application/json')
    expect(req.body).toEqual({
      From: 'Acme <hello@acme.test>',
      To: 'Bob <bob@example.com>, carol@example.com',
      Cc: 'dave@example.com',
      ReplyTo: 'support@acme.test',
      Subject: 'Welcome',
      TextBody: 'Hello',
      HtmlBody: '<p>Hello</p>',
      Headers: [{ Name: 'X-Campaign', Value: 'w1' }],
      Attachments: [{ Name: 'logo.png', Content: 'iVBORw0KGgo=', ContentType: 'image/png', ContentID: 'cid:logo' }],
      Metadata: { category: 'welcome', idempotency_key: 'onboarding:usr_1:send#1' },
      MessageStream: 'broadcast',
    })
    expect(out).toEqual({
      provider: 'postmark',
      messageId: 'b7bc2f4a-e38e-4336-af7d-e6c392c2f817',
      accepted: ['bob@example.com', 'carol@example.com', 'dave@example.com'],
      rejected: [],
    })
  })

  it('retries a 500 and a 429 (Retry-After as an HTTP date) with the same metadata key', async () => {
    const past = new Date(Date.now() - 60_000).toUTCString()
    const { api, email } = await setup((_req, n) =>
      n === 1
        ? { status: 500, body: { ErrorCode: 500, Message: 'oops' } }
        : n === 2
          ? { status: 429, headers: { 'retry-after': past }, body: {} }
          : ok,
    )
    await email.sendEmail.execute(input)
    expect(api.requests).toHaveLength(3)
    expect(new Set(api.requests.map((r) => r.body.Metadata.idempotency_key)).size).toBe(1)
    expect(api.requests[0].body.MessageStream).toBe('outbound')
  })

  it("does not retry a 422 and names Postmark's error code", async () => {
    const { api, email } = await setup(() => ({ status: 422, body: { ErrorCode: 300, Message: 'Invalid email request' } }))
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toContain('answered 422 ErrorCode 300: Invalid email request')
    expect(err.cause.providerCode).toBe('ErrorCode 300')
    expect(api.requests).toHaveLength(1)
  })

  it('keeps the server token out of errors, even when the server echoes it', async () => {
    const { email } = await setup((req) => ({
      status: 401,
      body: { ErrorCode: 10, Message: `Bad token ${String(req.headers['x-postmark-server-token'])}` },
    }))
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    const everything = `${err.message} ${inspect(err, { depth: 10 })}`
    expect(everything).toContain('Bad token [redacted]')
    expect(everything).not.toContain(TOKEN)
  })
})
