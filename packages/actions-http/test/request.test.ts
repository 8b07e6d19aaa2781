import { ValidationError } from '@do-sdk/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpActions } from '../src/index.js'
import { json, startServer, type TestServer } from './server.js'

let server: TestServer
let http: ReturnType<typeof httpActions>
beforeAll(async () => {
  server = await startServer()
  http = httpActions({
    allow: ['127.0.0.1'],
    baseUrl: `${server.origin}/v1?tenant=t1`,
    headers: { 'X-Default': 'd', 'X-Over': 'default' },
    retry: false,
  })
})
afterAll(async () => {
  await http.close()
  await server.close()
})

const echo = () =>
  server.handle((req, res) => json(res, 200, { method: req.method, url: req.url, headers: req.headers, body: req.body.toString('base64') }))
const last = () => server.requests[server.requests.length - 1]!

describe('request bodies', () => {
  // docs/packs/http.md: "The body type sets `Content-Type` (`application/json`"
  it('json', async () => {
    echo()
    await http.post.execute({ url: '/items', body: { type: 'json', data: { a: 1, b: [true, null, 'x'] } } })
    expect(last().method).toBe('POST')
    expect(last().headers['content-type']).toBe('application/json')
    expect(JSON.parse(last().body.toString())).toEqual({ a: 1, b: [true, null, 'x'] })
  })

  // docs/packs/http.md: "`{ type: 'form', data: { k: v \| v[] } }`"
  it('form, with repeated keys', async () => {
    echo()
    await http.put.execute({ url: '/form', body: { type: 'form', data: { name: 'Jane Doe', tag: ['a', 'b'], n: 2, ok: false } } })
    expect(last().headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(last().body.toString()).toBe('name=Jane+Doe&tag=a&tag=b&n=2&ok=false')
  })

  // docs/packs/http.md: "`{ type: 'text', data, contentType? }`"
  it('text, with its own content type', async () => {
    echo()
    await http.patch.execute({ url: '/t', body: { type: 'text', data: 'héllo', contentType: 'text/markdown' } })
    expect(last().headers['content-type']).toBe('text/markdown')
    expect(last().body.toString('utf8')).toBe('héllo')
    await http.post.execute({ url: '/t', body: { type: 'text', data: 'plain' } })
    expect(last().headers['content-type']).toBe('text/plain; charset=utf-8')
  })

  // docs/packs/http.md: "`{ type: 'base64', data, contentType? }`"
  it('binary from base64, byte for byte', async () => {
    echo()
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    await http.request.execute({ method: 'POST', url: '/bin', body: { type: 'base64', data: bytes.toString('base64') } })
    expect(last().headers['content-type']).toBe('application/octet-stream')
    expect(last().body.equals(bytes)).toBe(true)
  })

  // docs/packs/http.md: "unless the input headers set one"
  it('an input content-type header wins over the body type', async () => {
    echo()
    await http.post.execute({ url: '/x', headers: { 'Content-Type': 'application/vnd.api+json' }, body: { type: 'json', data: {} } })
    expect(last().headers['content-type']).toBe('application/vnd.api+json')
  })
})

describe('url, query and headers', () => {
  // docs/packs/http.md: "Query parameters of `baseUrl` come first, then the URL's, then `query`"
  it('appends relative urls to baseUrl, keeps its query, then adds query parameters', async () => {
    echo()
    const out = await http.get.execute({ url: '/users/7?x=1', query: { q: 'a b', tag: ['p', 'q'], skip: null, n: 3, on: true } })
    expect(last().url).toBe('/v1/users/7?tenant=t1&x=1&q=a+b&tag=p&tag=q&n=3&on=true')
    expect(out.url).toBe(`${server.origin}/v1/users/7?tenant=t1&x=1&q=a+b&tag=p&tag=q&n=3&on=true`)
  })

  // docs/packs/http.md: "absolute `http(s)` URL, or a path appended to `baseUrl`"
  it('uses absolute urls as they are', async () => {
    echo()
    await http.get.execute({ url: `${server.origin}/abs`, query: { a: 1 } })
    expect(last().url).toBe('/abs?a=1')
  })

  // docs/packs/http.md: "they override the default headers of the same name, in any case"
  it('merges default and input headers, input winning in any case', async () => {
    echo()
    await http.get.execute({ url: '/h', headers: { 'x-over': 'input', 'X-Custom': 'c' } })
    expect(last().headers).toMatchObject({ 'x-default': 'd', 'x-over': 'input', 'x-custom': 'c' })
  })

  // docs/packs/http.md: "`true` for every response header, or a list of names"
  it('returns headers only when asked: all, or the ones named; repeated ones as a list', async () => {
    server.handle((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.setHeader('x-one', '1')
      res.setHeader('x-two', '2')
      res.end('hi')
    })
    expect((await http.get.execute({ url: '/' })).headers).toBeUndefined()
    const all = await http.get.execute({ url: '/', includeHeaders: true })
    expect(all.headers).toMatchObject({ 'set-cookie': ['a=1', 'b=2'], 'x-one': '1', 'x-two': '2' })
    const some = await http.get.execute({ url: '/', includeHeaders: ['X-One'] })
    expect(some.headers).toEqual({ 'x-one': '1' })
  })
})

describe('response types', () => {
  const reply = (contentType: string | undefined, body: Buffer | string, status = 200) =>
    server.handle((_req, res) => {
      if (contentType) res.setHeader('content-type', contentType)
      res.statusCode = status
      res.end(body)
    })

  // docs/packs/http.md: "`auto` (from the content type; UTF-8 is sniffed when there is none)"
  it('auto: json, text, binary, sniffed text, empty', async () => {
    reply('application/problem+json', '{"a":[1]}')
    expect(await http.get.execute({ url: '/' })).toMatchObject({ status: 200, bodyType: 'json', body: { a: [1] }, redirects: 0 })
    reply('text/html; charset=utf-8', '<p>ü</p>')
    expect(await http.get.execute({ url: '/' })).toMatchObject({ bodyType: 'text', body: '<p>ü</p>' })
    reply('application/xml', '<a/>')
    expect(await http.get.execute({ url: '/' })).toMatchObject({ bodyType: 'text', body: '<a/>' })
    reply('image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    expect(await http.get.execute({ url: '/' })).toMatchObject({ bodyType: 'base64', body: 'iVBORw==' })
    reply(undefined, 'no type')
    expect(await http.get.execute({ url: '/' })).toMatchObject({ bodyType: 'text', body: 'no type' })
    reply(undefined, Buffer.from([0xff, 0xfe, 0x00]))
    expect(await http.get.execute({ url: '/' })).toMatchObject({ bodyType: 'base64', body: '//4A' })
    reply('application/json', '', 204)
    expect(await http.delete.execute({ url: '/' })).toMatchObject({ status: 204, bodyType: 'empty', body: null })
  })

  // docs/packs/http.md: "`json`, `text`, `base64` (binary) or `auto`"
  it('json, text and base64 as asked, whatever the content type', async () => {
    reply('text/plain', '{"n":1}')
    expect(await http.get.execute({ url: '/', responseType: 'json' })).toMatchObject({ bodyType: 'json', body: { n: 1 } })
    expect(last().headers.accept).toBe('application/json')
    reply('application/json', '{"n":1}')
    expect(await http.get.execute({ url: '/', responseType: 'text' })).toMatchObject({ bodyType: 'text', body: '{"n":1}' })
    expect(await http.get.execute({ url: '/', responseType: 'base64' })).toMatchObject({ bodyType: 'base64', body: 'eyJuIjoxfQ==' })
  })

  it('decodes the declared charset', async () => {
    reply('text/plain; charset=iso-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9]))
    expect((await http.get.execute({ url: '/' })).body).toBe('café')
  })

  // docs/packs/http.md: "empty: HEAD, 204, 304, or no bytes"
  it('a HEAD response has no body', async () => {
    reply('text/plain', 'ignored')
    expect(await http.head.execute({ url: '/', includeHeaders: ['content-type'] })).toMatchObject({
      status: 200,
      bodyType: 'empty',
      body: null,
      headers: { 'content-type': 'text/plain' },
    })
  })

  // docs/packs/http.md: "SSRF refusal, too many redirects, body too large, invalid JSON"
  it('a body that is not JSON when JSON was asked fails without retry', async () => {
    reply('application/json', '{not json')
    await expect(http.get.execute({ url: '/', responseType: 'json' })).rejects.toThrow(/is not valid JSON/)
  })
})

describe('input validation', () => {
  const refused = async (input: unknown, path: string, message: RegExp) => {
    const err = await http.request.execute(input as never).catch((e) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect(err.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toContain(path)
    expect(err.message).toMatch(message)
  }

  // docs/packs/http.md: "Refused with a `ValidationError` before anything is sent"
  it('refuses bad urls, reserved headers, bodies on GET and bad base64, before sending anything', async () => {
    const before = server.requests.length
    await refused({ url: 'ftp://example.com/x' }, 'url', /only http and https/)
    await refused({ url: 'http://user:pw@example.com/' }, 'url', /credentials/)
    await refused({ url: '//evil.example/x' }, 'url', /protocol-relative/)
    await refused({ url: '/x', headers: { Authorization: 'Bearer t' } }, 'headers', /auth option/)
    await refused({ url: '/x', headers: { Host: 'evil' } }, 'headers', /"Host" may not be set/)
    await refused({ url: '/x', headers: { 'x-bad': 'a\r\nInjected: 1' } }, 'headers.x-bad', /CR, LF or NUL/)
    await refused({ url: '/x', body: { type: 'json', data: 1 } }, 'body', /GET request has no body/)
    await refused({ method: 'POST', url: '/x', body: { type: 'base64', data: '***' } }, 'body.data', /base64/)
    await refused({ method: 'FETCH', url: '/x' }, 'method', /Invalid option/)
    expect(server.requests.length).toBe(before)
  })

  // docs/packs/http.md: "a relative URL without `baseUrl`"
  it('refuses a relative url without baseUrl', async () => {
    const bare = httpActions({ allow: ['127.0.0.1'] })
    const err = await bare.get.execute({ url: '/x' }).catch((e) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect(err.message).toMatch(/relative and there is no baseUrl/)
    await bare.close()
  })
})
