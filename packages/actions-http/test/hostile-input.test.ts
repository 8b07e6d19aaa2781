import { InvalidArgumentError, NonRetryableError, ValidationError } from '@do-sdk/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HttpActionsOptions, httpActions } from '../src/index.js'
import { json, startServer, type TestServer } from './server.js'

// The claims of docs/packs/http.md about what the input and the options refuse, each tried with
// hostile values against a real server that counts connections: "refused" means nothing reached it.

let server: TestServer
let http: ReturnType<typeof httpActions>
beforeAll(async () => {
  server = await startServer((req, res) => json(res, 200, { url: req.url, headers: req.headers, body: req.body.toString() }))
  http = httpActions({ allow: ['127.0.0.1'], baseUrl: `${server.origin}/v1`, retry: false })
})
afterAll(async () => {
  await http.close()
  await server.close()
})

const last = () => server.requests.at(-1)!

/** Runs `input` through the `request` action; expects a ValidationError at `path` and no connection at all. */
const refused = async (input: unknown, path: (string | number)[], message: RegExp) => {
  const before = { connections: server.connections, requests: server.requests.length }
  const err = await http.request.execute(input as never).catch((e) => e)
  expect(err, JSON.stringify(input)).toBeInstanceOf(ValidationError)
  expect(err.issues, JSON.stringify(input)).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }))
  expect({ connections: server.connections, requests: server.requests.length }).toEqual(before)
}

describe('docs/packs/http.md, Input', () => {
  // docs/packs/http.md: "Refused with a `ValidationError` before anything is sent: schemes other than http/https"
  it.each([
    'ftp://127.0.0.1/x',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/plain,hi',
    'ws://127.0.0.1/',
    'gopher://127.0.0.1/',
  ])('refuses the scheme of %s', async (url) => {
    await refused({ url }, ['url'], /only http and https/)
  })

  // docs/packs/http.md: "URLs with `user:password@`, protocol-relative `//host` URLs, URLs with control characters"
  it('refuses credentials in any part of the URL, protocol-relative URLs, and control characters', async () => {
    for (const url of [`http://user:pw@127.0.0.1:${server.port}/`, `http://user@127.0.0.1:${server.port}/`, `http://:pw@127.0.0.1/`]) {
      await refused({ url }, ['url'], /credentials/)
    }
    await refused({ url: `//127.0.0.1:${server.port}/x` }, ['url'], /protocol-relative/)
    // The URL parser would drop these silently (`exa\nmple.com` is example.com): refused instead.
    for (const url of ['/a\r\nX-Injected: 1', '/a\tb', `http://127.0.0.1:${server.port}/\0`, 'http://exa\nmple.com/']) {
      await refused({ url }, ['url'], /control characters/)
    }
  })

  // docs/packs/http.md: "the path is appended, unlike `new URL('/users', base)`, which would drop `/v1`"
  it('a relative URL stays under baseUrl: dot segments and backslashes do not climb out of its path or origin', async () => {
    for (const [url, path] of [
      ['/../admin', '/v1/admin'],
      ['/%2e%2e/admin', '/v1/admin'],
      ['\\\\evil.example/x', '/v1/x'],
      ['/users?active=1', '/v1/users?active=1'],
    ]) {
      const out = await http.get.execute({ url: url as string })
      expect(last().url, url).toBe(path)
      expect(new URL(out.url).origin).toBe(server.origin)
    }
  })

  // docs/packs/http.md: "a body on GET/HEAD"
  it('refuses a body on GET and HEAD, also through request()', async () => {
    for (const method of ['GET', 'HEAD']) {
      await refused({ method, url: '/x', body: { type: 'text', data: '' } }, ['body'], new RegExp(`${method} request has no body`))
    }
  })

  // docs/packs/http.md: "header names that are not tokens and values with CR, LF or NUL"
  it('refuses header names that are not tokens, and CR, LF or NUL in any header-bound value', async () => {
    for (const name of ['X Bad', 'X-Bad:', 'Ünïcode', '', 'X-(comment)', 'X-Bad\r\n']) {
      await refused({ url: '/x', headers: { [name]: 'v' } }, ['headers', name], /valid header name/)
    }
    for (const value of ['a\r\nInjected: 1', 'a\nb', 'a\rb', 'a\0b']) {
      await refused({ url: '/x', headers: { 'X-Ok': value } }, ['headers', 'X-Ok'], /CR, LF or NUL/)
      // A body's own content type becomes the Content-Type header.
      await refused(
        { method: 'POST', url: '/x', body: { type: 'text', data: 'x', contentType: `text/plain${value}` } },
        ['body', 'contentType'],
        /CR, LF or NUL/,
      )
      await refused(
        { method: 'POST', url: '/x', body: { type: 'base64', data: 'AA==', contentType: `image/png${value}` } },
        ['body', 'contentType'],
        /CR, LF or NUL/,
      )
    }
  })

  // docs/packs/http.md: "and the headers the pack owns: `Host`, `Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Upgrade`, `TE`, `Trailer`, `Expect`, `Proxy-Connection`, and **`Authorization` / `Proxy-Authorization`**"
  it.each([
    ['Host', 'evil.example'],
    ['content-length', '0'],
    ['CONTENT-LENGTH', '100000'],
    ['Transfer-Encoding', 'chunked'],
    ['Connection', 'close'],
    ['Keep-Alive', 'timeout=5'],
    ['Upgrade', 'websocket'],
    ['TE', 'trailers'],
    ['Trailer', 'X-Smuggled'],
    ['Expect', '100-continue'],
    ['Proxy-Connection', 'keep-alive'],
    ['authorization', 'Bearer stolen'],
    ['Proxy-Authorization', 'Basic eDp5'],
  ])('refuses %s in the input headers', async (name, value) => {
    await refused(
      { method: 'POST', url: '/x', headers: { [name]: value }, body: { type: 'text', data: 'x' } },
      ['headers'],
      /may not be set/,
    )
  })

  // docs/packs/http.md: "An own `__proto__` key anywhere in the input (headers, query, form or JSON data) is refused too"
  it('refuses an own __proto__ key in headers, query, form and JSON bodies (zod would drop it silently)', async () => {
    const proto = (value: unknown) => JSON.parse(`{"__proto__": ${JSON.stringify(value)}, "a": "1"}`)
    await refused({ url: '/x', headers: proto('x') }, ['headers', '__proto__'], /__proto__/)
    await refused({ url: '/x', query: proto('x') }, ['query', '__proto__'], /__proto__/)
    await refused({ method: 'POST', url: '/x', body: { type: 'form', data: proto('x') } }, ['body', 'data', '__proto__'], /__proto__/)
    const nested = { type: 'json', data: { list: [{ ok: 1 }, proto({ polluted: true })] } }
    await refused({ method: 'POST', url: '/x', body: nested }, ['body', 'data', 'list', 1, '__proto__'], /__proto__/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  // docs/packs/http.md: "`constructor` and `prototype` are ordinary names"
  it('sends constructor and prototype as ordinary names, and changes no prototype', async () => {
    const keys = { constructor: 'c', prototype: 'p' }
    await http.post.execute({
      url: '/x',
      headers: keys,
      query: keys,
      body: { type: 'json', data: { constructor: { prototype: { polluted: 1 } } } },
    })
    expect(last().headers).toMatchObject({ constructor: 'c', prototype: 'p' })
    expect(last().url).toBe('/v1/x?constructor=c&prototype=p')
    expect(JSON.parse(last().body.toString())).toEqual({ constructor: { prototype: { polluted: 1 } } })
    await http.put.execute({ url: '/x', body: { type: 'form', data: keys } })
    expect(last().body.toString()).toBe('constructor=c&prototype=p')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  // docs/packs/http.md: "The body type sets `Content-Type` (`application/json`, `application/x-www-form-urlencoded`, `text/plain; charset=utf-8`, `application/octet-stream`) unless the input headers set one."
  it('an input Content-Type in any case wins over the body type, and only one is sent', async () => {
    await http.post.execute({ url: '/x', headers: { 'CONTENT-type': 'application/merge-patch+json' }, body: { type: 'json', data: {} } })
    expect(last().headers['content-type']).toBe('application/merge-patch+json')
    expect(JSON.stringify(last().headers).match(/content-type/gi)).toHaveLength(1)
  })
})

describe('docs/packs/http.md, Options', () => {
  const optionError = (options: unknown) => {
    try {
      httpActions(options as HttpActionsOptions)
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError)
      return (error as Error).message
    }
    throw new Error('expected httpActions() to throw')
  }

  // docs/packs/http.md: "`headers` … headers sent with every request (not the reserved ones above)"
  it('refuses reserved, malformed, injected and __proto__ default headers', () => {
    for (const name of ['Content-Length', 'host', 'Transfer-Encoding', 'Proxy-Authorization']) {
      expect(optionError({ headers: { [name]: '1' } })).toContain(`Invalid option "headers.${name}": may not be set here`)
    }
    expect(optionError({ headers: { 'X-A': 'v\r\nHost: evil' } })).toMatch(/"headers.X-A": must not contain CR, LF or NUL/)
    expect(optionError({ headers: JSON.parse('{"__proto__": "x"}') })).toMatch(/"headers.__proto__": the key "__proto__" is refused/)
  })

  // docs/packs/http.md: "`idempotencyHeader` … header that carries the idempotency key"
  it('refuses an idempotency header that would replace a header the pack owns', () => {
    for (const name of ['Content-Length', 'Host', 'Authorization', 'transfer-encoding']) {
      expect(optionError({ idempotencyHeader: name })).toMatch(/"idempotencyHeader": is a header the pack sets itself/)
    }
  })

  // docs/packs/http.md: "Secret values never appear in these messages."
  it('an injected secret is refused without being echoed', () => {
    for (const auth of [
      { type: 'bearer', token: 'tok_SECRET\r\nX: 1' },
      { type: 'basic', username: 'u', password: 'pw_SECRET\0' },
      { type: 'header', name: 'X-Key', value: 'key_SECRET\n' },
    ]) {
      const message = optionError({ auth })
      expect(message).toMatch(/CR, LF or NUL/)
      expect(message).not.toContain('SECRET')
    }
  })
})

describe('docs/packs/http.md, Output', () => {
  // docs/packs/http.md: "A 3xx without `Location`, and 304, are returned as they are"
  it('returns a 3xx without Location as it is, without following anything', async () => {
    server.handle((_req, res) => json(res, 300, { choices: ['/a', '/b'] }))
    const out = await http.get.execute({ url: '/choose' })
    expect(out).toMatchObject({ status: 300, redirects: 0, body: { choices: ['/a', '/b'] } })
    server.handle((req, res) => json(res, 200, { url: req.url, headers: req.headers, body: req.body.toString() }))
  })

  // docs/packs/http.md: "headers?: … // lowercase; a list when repeated"
  it('a hostile server sending __proto__ and constructor headers changes no prototype', async () => {
    server.handle((_req, res) => {
      res.setHeader('constructor', 'c')
      res.setHeader('X-Twice', ['1', '2'])
      json(res, 200, JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'))
    })
    const out = await http.get.execute({ url: '/', includeHeaders: true })
    expect(out.headers).toMatchObject({ constructor: 'c', 'x-twice': ['1', '2'] })
    expect(Object.getPrototypeOf(out.headers)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(out.body)).toBe(Object.prototype)
    expect((out.body as { polluted?: unknown }).polluted).toBeUndefined()
    server.handle((req, res) => json(res, 200, { url: req.url, headers: req.headers, body: req.body.toString() }))
  })
})

describe('docs/packs/http.md, Retries', () => {
  // docs/packs/http.md: "A key you pass to `execute(input, { idempotencyKey })` must fit in a header"
  it('a standalone idempotency key with CR or LF is refused before sending, without retry', async () => {
    const retrying = httpActions({ allow: ['127.0.0.1'], baseUrl: server.origin, retry: { retries: 3, minTimeout: 1 } })
    const before = server.connections
    const err = await retrying.post.execute({ url: '/x', idempotencyKey: true }, { idempotencyKey: 'k\r\nX-Injected: 1' }).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/idempotency key must not contain CR, LF or NUL/)
    expect(server.connections).toBe(before)
    await retrying.close()
  })
})
