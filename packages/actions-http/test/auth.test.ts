import type { Logger } from '@do-sdk/core'
import { NonRetryableError } from '@do-sdk/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type HttpActionsOptions, httpActions } from '../src/index.js'
import { json, startServer, type TestServer } from './server.js'

const TOKEN = 'tok_SECRET_4242'
const PASSWORD = 'pa55-SECRET-word'
const API_KEY = 'key_SECRET_0001'

let api: TestServer
let other: TestServer
const opened: { close(): Promise<void> }[] = []
const make = (options: HttpActionsOptions) => {
  const http = httpActions({ allow: ['127.0.0.1'], baseUrl: api.origin, retry: { retries: 1, minTimeout: 1 }, ...options })
  opened.push(http)
  return http
}
const capture = () => {
  const lines: unknown[] = []
  const log: Logger = {
    debug: (m, f) => lines.push([m, f]),
    info: (m, f) => lines.push([m, f]),
    warn: (m, f) => lines.push([m, f]),
    error: (m, f) => lines.push([m, f]),
  }
  return { log, text: () => JSON.stringify(lines) }
}
/** Everything an error carries, down its cause chain. */
const dump = (error: unknown): string => {
  const parts: string[] = []
  for (let e = error as Record<string, unknown> | undefined; e; e = e.cause as Record<string, unknown> | undefined) {
    parts.push(String(e.message), String(e.stack), JSON.stringify(e))
  }
  return parts.join('\n')
}
// A careless server that echoes the credentials it got, in its body and its headers.
const echoAuth = (status = 200) =>
  api.handle((req, res) => {
    const got = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '')
    json(res, status, { got, nested: [{ got }] }, { 'x-echo': got })
  })

beforeAll(async () => {
  api = await startServer()
  other = await startServer((req, res) =>
    json(res, 200, { auth: req.headers.authorization ?? null, key: req.headers['x-api-key'] ?? null }),
  )
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()))
})
afterAll(async () => {
  await api.close()
  await other.close()
})

describe('auth', () => {
  // docs/packs/http.md: "Every secret value … is replaced by `[redacted]` wherever the pack writes text"
  it('bearer: sent, and redacted from the output the server echoed it into', async () => {
    echoAuth()
    const { log, text } = capture()
    const out = await make({ auth: { type: 'bearer', token: TOKEN } }).get.execute({ url: '/me', includeHeaders: true }, { log })
    expect(api.requests.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(out.body).toEqual({ got: 'Bearer [redacted]', nested: [{ got: 'Bearer [redacted]' }] })
    expect(out.headers?.['x-echo']).toBe('Bearer [redacted]')
    expect(JSON.stringify(out)).not.toContain('SECRET')
    expect(text()).toContain('/me')
    expect(text()).not.toContain('SECRET')
  })

  // docs/packs/http.md: "for basic auth, the encoded `user:password`"
  it('basic: neither the password nor the encoded pair leaks', async () => {
    echoAuth()
    const encoded = Buffer.from(`jane:${PASSWORD}`).toString('base64')
    const out = await make({ auth: { type: 'basic', username: 'jane', password: PASSWORD } }).get.execute({
      url: '/me',
      responseType: 'text',
    })
    expect(api.requests.at(-1)?.headers.authorization).toBe(`Basic ${encoded}`)
    expect(out.body).not.toContain(encoded)
    expect(out.body).toContain('Basic [redacted]')
  })

  // docs/packs/http.md: "strings or functions (sync or async) called once per request"
  it('custom header, with a token function called per request', async () => {
    echoAuth()
    let calls = 0
    const http = make({
      auth: {
        type: 'header',
        name: 'X-Api-Key',
        value: async () => {
          calls++
          return API_KEY
        },
      },
    })
    const out = await http.get.execute({ url: '/me' })
    await http.get.execute({ url: '/me' })
    expect(api.requests.at(-1)?.headers['x-api-key']).toBe(API_KEY)
    expect(out.body).toEqual({ got: '[redacted]', nested: [{ got: '[redacted]' }] })
    expect(calls).toBe(2)
  })

  // docs/packs/http.md: "error messages and the error's body excerpt, and logs, which never carry headers"
  it('errors never carry the secret, even when the error body echoes it', async () => {
    echoAuth(401)
    const { log, text } = capture()
    const err = await make({ auth: { type: 'bearer', token: TOKEN } })
      .get.execute({ url: '/me' }, { log })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.cause.status).toBe(401)
    expect(err.cause.body).toContain('Bearer [redacted]')
    expect(dump(err)).not.toContain('SECRET')
    expect(text()).not.toContain('SECRET')
  })

  // docs/packs/http.md: "`token`, `password` and `value` are strings or functions"
  it('a token function that returns nothing fails without retry and says which option', async () => {
    echoAuth()
    const err = await make({ auth: { type: 'bearer', token: () => '' } })
      .get.execute({ url: '/me' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/auth.token must resolve to a non-empty string/)
  })

  // docs/packs/http.md: "Credentials are sent only to the origin of `baseUrl`"
  it('is sent to the baseUrl origin only', async () => {
    const out = await make({ auth: { type: 'bearer', token: TOKEN } }).get.execute({ url: `${other.origin}/` })
    expect(out.body).toEqual({ auth: null, key: null })
  })

  // docs/packs/http.md: "Credentials are sent only to the origin of `baseUrl`"
  it('is not sent to another origin reaching the same server (localhost for 127.0.0.1) or another port', async () => {
    echoAuth()
    const http = make({ allow: ['127.0.0.1', 'localhost'], auth: { type: 'bearer', token: TOKEN } })
    const before = api.requests.length
    await http.get.execute({ url: `http://localhost:${api.port}/me` })
    await http.get.execute({ url: `${other.origin}/me` })
    expect(api.requests.slice(before).map((r) => r.headers.authorization ?? null)).toEqual([null])
    expect(other.requests.at(-1)?.headers.authorization).toBeUndefined()
    // The same origin written differently (a URL normalizes its host) is the same origin.
    for (const host of ['127.0.0.1', '0x7f.1', '2130706433']) {
      await http.get.execute({ url: `HTTP://${host}:${api.port}/me` })
      expect(api.requests.at(-1)?.headers.authorization, host).toBe(`Bearer ${TOKEN}`)
    }
  })

  // docs/packs/http.md: "without `baseUrl`: the origin of each request's first URL"
  it('without baseUrl, goes to the request’s own origin', async () => {
    const out = await make({ baseUrl: undefined, auth: { type: 'bearer', token: TOKEN } }).get.execute({ url: `${other.origin}/` })
    expect(out.body).toEqual({ auth: `Bearer ${TOKEN}`.replace(TOKEN, '[redacted]'), key: null })
    expect(other.requests.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`)
  })
})

describe('credentials and redirects', () => {
  // docs/packs/http.md: "dropped for the rest of the attempt as soon as a redirect leaves that origin, together with any `Cookie` header"
  it('kept on a same-origin redirect, stripped on a cross-origin one', async () => {
    api.handle((req, res) => {
      if (req.url === '/same') return json(res, 302, {}, { location: '/landing' })
      if (req.url === '/cross') return json(res, 307, {}, { location: `${other.origin}/elsewhere` })
      json(res, 200, { auth: req.headers.authorization ?? null })
    })
    const http = make({ auth: { type: 'bearer', token: TOKEN }, headers: { Cookie: 'session=1' } })
    const same = await http.get.execute({ url: '/same' })
    expect(api.requests.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(same.redirects).toBe(1)
    const cross = await http.get.execute({ url: '/cross' })
    expect(cross).toMatchObject({ status: 200, redirects: 1, url: `${other.origin}/elsewhere`, body: { auth: null } })
    expect(other.requests.at(-1)?.headers.authorization).toBeUndefined()
    expect(other.requests.at(-1)?.headers.cookie).toBeUndefined()
  })

  // docs/packs/http.md: "dropped for the rest of the attempt as soon as a redirect leaves that origin"
  it('the custom auth header is stripped too', async () => {
    api.handle((_req, res) => json(res, 302, {}, { location: `${other.origin}/x` }))
    const out = await make({ auth: { type: 'header', name: 'X-Api-Key', value: API_KEY } }).get.execute({ url: '/' })
    expect(out.body).toEqual({ auth: null, key: null })
  })
})
