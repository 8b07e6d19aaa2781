import { NonRetryableError } from '@do-sdk/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BlockedAddressError, type HttpActionsOptions, httpActions } from '../src/index.js'
import { json, startServer, type TestServer } from './server.js'

let server: TestServer
const opened: { close(): Promise<void> }[] = []
const make = (options: HttpActionsOptions = {}) => {
  const http = httpActions({ allow: ['127.0.0.1'], baseUrl: server.origin, retry: { retries: 2, minTimeout: 1 }, ...options })
  opened.push(http)
  return http
}
beforeAll(async () => {
  server = await startServer((req, res) => {
    const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '')
    if (hop) {
      const n = Number(hop[1])
      const status = [302, 301, 307, 308][n % 4] as number
      return n > 0 ? json(res, status, {}, { location: `/hop/${n - 1}` }) : json(res, 200, { arrived: true })
    }
    if (req.url === '/see-other') return json(res, 303, {}, { location: '/result' })
    if (req.url === '/temporary') return json(res, 307, {}, { location: '/result' })
    if (req.url === '/found') return json(res, 302, {}, { location: '/result' })
    if (req.url === '/to-ftp') return json(res, 302, {}, { location: 'ftp://example.com/file' })
    if (req.url === '/not-modified') {
      res.statusCode = 304
      return res.end()
    }
    json(res, 200, { method: req.method, body: req.body.toString(), type: req.headers['content-type'] ?? null })
  })
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()))
})
afterAll(() => server.close())

describe('redirects', () => {
  // docs/packs/http.md: "`url` … final, after redirects"
  it('follows and counts them, and returns the final url', async () => {
    const out = await make().get.execute({ url: '/hop/4' })
    expect(out).toMatchObject({ status: 200, redirects: 4, url: `${server.origin}/hop/0`, body: { arrived: true } })
  })

  // docs/packs/http.md: "redirects followed per attempt; one more fails without retry"
  it('one more than maxRedirects fails without retry', async () => {
    const before = server.requests.length
    const err = await make({ maxRedirects: 2 })
      .get.execute({ url: '/hop/3' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/more than 2 redirects \(maxRedirects\)/)
    expect(server.requests.length - before).toBe(3)
  })

  // docs/packs/http.md: "`0` follows none"
  it('maxRedirects: 0 follows none; the default is 5', async () => {
    await expect(make({ maxRedirects: 0 }).get.execute({ url: '/hop/1' })).rejects.toThrow(/more than 0 redirects/)
    await expect(make().get.execute({ url: '/hop/5' })).resolves.toMatchObject({ redirects: 5 })
    await expect(make().get.execute({ url: '/hop/6' })).rejects.toThrow(/more than 5 redirects/)
  })

  // docs/packs/http.md: "redirects followed by hand"
  it('303 turns a POST into a GET without body; 307 keeps method and body; 302 after POST is a GET', async () => {
    const body = { type: 'json' as const, data: { a: 1 } }
    expect((await make().post.execute({ url: '/see-other', body })).body).toEqual({ method: 'GET', body: '', type: null })
    expect((await make().post.execute({ url: '/temporary', body })).body).toEqual({
      method: 'POST',
      body: '{"a":1}',
      type: 'application/json',
    })
    expect((await make().post.execute({ url: '/found', body })).body).toMatchObject({ method: 'GET', body: '' })
    expect((await make().put.execute({ url: '/found', body })).body).toMatchObject({ method: 'PUT', body: '{"a":1}' })
  })

  // docs/packs/http.md: "schemes other than http/https"
  it('a redirect to a non-http scheme fails without retry', async () => {
    await expect(make().get.execute({ url: '/to-ftp' })).rejects.toThrow(/unusable location: only http and https/)
  })

  // docs/packs/http.md: "A 3xx without `Location`, and 304, are returned as they are"
  it('304 is an answer, not a redirect', async () => {
    await expect(make().get.execute({ url: '/not-modified' })).resolves.toMatchObject({ status: 304, redirects: 0, bodyType: 'empty' })
  })

  // docs/packs/http.md: "whichever hop of a redirect chain, the address actually reached is the one judged"
  it('a redirect to a refused address is blocked before it reaches it', async () => {
    const internal = await startServer()
    server.handle((_req, res) => json(res, 302, {}, { location: `${internal.origin}/admin` }))
    const http = make({ allow: [`127.0.0.1:${server.port}`] })
    const err = await http.get.execute({ url: '/innocent' }).catch((e) => e)
    expect(err).toBeInstanceOf(BlockedAddressError)
    expect(err.message).toMatch(/127\.0\.0\.1 is a loopback address/)
    expect(internal.requests).toHaveLength(0)
    expect(internal.connections).toBe(0)
    // Also through a DNS name.
    server.handle((_req, res) => json(res, 302, {}, { location: `http://localhost:${internal.port}/admin` }))
    await expect(http.get.execute({ url: '/innocent' })).rejects.toBeInstanceOf(BlockedAddressError)
    expect(internal.requests).toHaveLength(0)
    await internal.close()
  })
})
