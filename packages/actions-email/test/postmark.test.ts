import { inspect } from 'node:util'
import { NonRetryableError, ValidationError } from '@do-sdk/core'
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
  // docs/packs/email.md: "the key goes into `Metadata.idempotency_key`"
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

  // docs/packs/email.md: "HTTP 429 with `Retry-After` (seconds or an HTTP date)"
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

  // docs/packs/email.md: "other HTTP 4xx (400, 401, 403, 409, 422…) | `NonRetryableError`"
  it("does not retry a 422 and names Postmark's error code", async () => {
    const { api, email } = await setup(() => ({ status: 422, body: { ErrorCode: 300, Message: 'Invalid email request' } }))
    const err = await email.sendEmail.execute(input).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toContain('answered 422 ErrorCode 300: Invalid email request')
    expect(err.cause.providerCode).toBe('ErrorCode 300')
    expect(api.requests).toHaveLength(1)
  })

  // docs/packs/email.md: "the Postmark token are replaced with `[redacted]` in every error message and reply kept on an error, even when a server echoes them back"
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

  // docs/packs/email.md: "more than 9 tags, a longer name or value, or a tag named `idempotency_key` is refused with a `ValidationError` before anything is sent"
  it('refuses, before sending, tags Postmark would refuse or that would overwrite the idempotency key', async () => {
    const { api, email } = await setup(() => ok)
    const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `t${i}`, value: 'v' }))
    for (const [bad, path] of [
      [tags(10), ['tags']],
      [[{ name: 'idempotency_key', value: 'forged' }], ['tags', 0, 'name']],
      [[{ name: 'a'.repeat(21), value: 'v' }], ['tags', 0, 'name']],
      [[{ name: 'a', value: 'v'.repeat(81) }], ['tags', 0, 'value']],
    ] as const) {
      const err = await email.sendEmail.execute({ ...input, tags: bad as never }).catch((e) => e)
      expect(err).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path).toEqual(path)
    }
    expect(api.requests).toHaveLength(0)
    await email.sendEmail.execute({ ...input, tags: tags(9) }, { idempotencyKey: 'run:step' })
    expect(Object.keys(api.requests[0].body.Metadata)).toHaveLength(10)
    expect(api.requests[0].body.Metadata.idempotency_key).toBe('run:step')
  })
})
