import { NonRetryableError } from '@do-sdk/core'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGuardedConnect } from '../src/connector.js'
import { BlockedAddressError, httpActions } from '../src/index.js'
import { createAddressPolicy } from '../src/ssrf.js'
import { json, startServer, type TestServer } from './server.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer((req, res) => json(res, 200, { path: req.url }))
})
afterAll(() => server.close())

// Every spelling of the loopback address a URL parser accepts, plus a DNS name that resolves to it.
const spellings = (port: number) => [
  `http://127.0.0.1:${port}/a`,
  `http://[::ffff:127.0.0.1]:${port}/b`,
  `http://2130706433:${port}/c`,
  `http://0x7f.1:${port}/d`,
  `http://0177.0.0.1:${port}/e`,
  `http://127.1:${port}/f`,
  `http://localhost:${port}/g`,
]

const counts = () => ({ requests: server.requests.length, connections: server.connections })

describe('default policy', () => {
  const http = httpActions({ retry: { retries: 2, minTimeout: 1 } })
  afterAll(() => http.close())

  // docs/packs/http.md: "Whatever notation the URL used (`127.0.0.1`, `[::ffff:127.0.0.1]`, `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`), whatever DNS answered (`localhost`"
  it.each([0, 1, 2, 3, 4, 5, 6])('refuses loopback spelling #%i before any request reaches the server', async (i) => {
    const url = spellings(server.port)[i] as string
    const before = counts()
    const err = await http.get.execute({ url }).catch((e) => e)
    expect(err).toBeInstanceOf(BlockedAddressError)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.addressClass).toBe('loopback')
    expect(err.message).toMatch(/Refused to connect: .*loopback address/)
    expect(err.message).toContain(url.includes('localhost') ? '"localhost" resolved to' : 'is a loopback address')
    // Refused before connecting (literal check or DNS answer check): not even a TCP connection.
    expect(counts()).toEqual(before)
  })

  // docs/packs/http.md: "A refusal is a `BlockedAddressError` (a `NonRetryableError`) with `host`, `address`, `addressClass`"
  it('names the address class for other non-public destinations, without sending a packet', async () => {
    for (const [url, cls] of [
      ['http://169.254.169.254/latest/meta-data/', 'metadata'],
      ['http://10.0.0.1/', 'private'],
      ['http://[fe80::1]/', 'link-local'],
      ['http://0.0.0.0:1/', 'unspecified'],
      ['http://[::]:1/', 'unspecified'],
      ['http://100.64.0.1/', 'cgnat'],
      ['http://[fd00::1]/', 'private'],
    ] as const) {
      const err = await http.get.execute({ url }).catch((e) => e)
      expect(err, url).toBeInstanceOf(BlockedAddressError)
      expect(err.addressClass, url).toBe(cls)
    }
  })
})

describe('allow list', () => {
  // docs/packs/http.md: "that address, in any spelling (`[::ffff:127.0.0.1]`, `2130706433`…)"
  it('an address entry opens every spelling of it, and names resolving to it', async () => {
    const http = httpActions({ allow: ['127.0.0.1'] })
    for (const url of spellings(server.port)) {
      const out = await http.get.execute({ url })
      expect(out.status, url).toBe(200)
      expect(out.body, url).toEqual({ path: new URL(url).pathname })
    }
    await http.close()
  })

  // docs/packs/http.md: "`'10.0.0.0/8'`, `'fd00::/8'` | a network"
  it('a network entry opens the network', async () => {
    const http = httpActions({ allow: ['127.0.0.0/8'] })
    await expect(http.get.execute({ url: `http://0x7f.1:${server.port}/` })).resolves.toMatchObject({ status: 200 })
    await http.close()
  })

  // docs/packs/http.md: "allowing a name does not allow its address reached through another name"
  it('a host entry opens that name only, not the address it resolves to', async () => {
    const http = httpActions({ allow: [`localhost:${server.port}`], retry: false })
    await expect(http.get.execute({ url: `http://localhost:${server.port}/` })).resolves.toMatchObject({ status: 200 })
    await expect(http.get.execute({ url: `http://127.0.0.1:${server.port}/` })).rejects.toBeInstanceOf(BlockedAddressError)
    await http.close()
  })

  // docs/packs/http.md: "an address on one port"
  it('an entry with a port opens that port only', async () => {
    const other = await startServer()
    const http = httpActions({ allow: [`127.0.0.1:${server.port}`], retry: false })
    await expect(http.get.execute({ url: `http://127.0.0.1:${server.port}/` })).resolves.toMatchObject({ status: 200 })
    const err = await http.get.execute({ url: `${other.origin}/` }).catch((e) => e)
    expect(err).toBeInstanceOf(BlockedAddressError)
    expect(other.connections).toBe(0)
    await http.close()
    await other.close()
  })
})

describe('the connected socket check alone (no preflight)', () => {
  // With the literal and DNS checks off, only the check of socket.remoteAddress stands between the
  // request and the server: the TCP connection is made, the request is never written.
  const agentFor = (allow: string[]) =>
    new Agent({ connect: createGuardedConnect(createAddressPolicy(allow), { connectTimeoutMs: 1000, preflight: false }) })

  // docs/packs/http.md: "On the connected socket … before a byte of the request is written"
  it('refuses every spelling on the socket: the server sees connections, never a request', async () => {
    const agent = agentFor([])
    for (const url of spellings(server.port)) {
      const before = counts()
      const u = new URL(url)
      const err = await agent.request({ origin: u.origin, path: u.pathname, method: 'GET' }).catch((e) => e)
      expect(err, url).toBeInstanceOf(BlockedAddressError)
      expect(err.address, url).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
      expect(server.requests.length, url).toBe(before.requests)
      expect(server.connections, url).toBeGreaterThan(before.connections)
    }
    await agent.close()
  })

  // docs/packs/http.md: "The socket check stays the authority."
  it('lets the allowed address through on the socket', async () => {
    const agent = agentFor(['127.0.0.1'])
    for (const url of spellings(server.port)) {
      const u = new URL(url)
      const res = await agent.request({ origin: u.origin, path: u.pathname, method: 'GET' })
      expect(res.statusCode, url).toBe(200)
      await res.body.dump()
    }
    await agent.close()
  })
})

describe('more hostile destinations', () => {
  // docs/packs/http.md: "unspecified, this network | 0.0.0.0, 0/8, ::"
  it('http://0 (0.0.0.0, which Linux routes to loopback) and [::1] are refused before connecting, and on the socket', async () => {
    const http = httpActions({ retry: false })
    for (const [url, cls] of [
      [`http://0:${server.port}/`, 'unspecified'],
      [`http://0.0.0.0:${server.port}/`, 'unspecified'],
      [`http://[::1]:${server.port}/`, 'loopback'],
      [`http://[::ffff:7f00:1]:${server.port}/`, 'loopback'],
      [`http://127.0.0.1.:${server.port}/`, 'loopback'],
    ] as const) {
      const before = counts()
      const err = await http.get.execute({ url }).catch((e) => e)
      expect(err, url).toBeInstanceOf(BlockedAddressError)
      expect(err.addressClass, url).toBe(cls)
      expect(counts(), url).toEqual(before)
    }
    await http.close()
    // Without the early checks, the socket the kernel actually opened is judged: 0.0.0.0 reached 127.0.0.1.
    const agent = new Agent({ connect: createGuardedConnect(createAddressPolicy([]), { connectTimeoutMs: 1000, preflight: false }) })
    const before = counts()
    const err = await agent.request({ origin: `http://0:${server.port}`, path: '/', method: 'GET' }).catch((e) => e)
    expect(err).toBeInstanceOf(BlockedAddressError)
    expect(err).toMatchObject({ address: '127.0.0.1', addressClass: 'loopback' })
    expect(server.requests.length).toBe(before.requests)
    await agent.close()
  })

  // docs/packs/http.md: "whichever hop of a redirect chain, the address actually reached is the one judged"
  it('a redirect to another spelling of a refused address is refused at that hop', async () => {
    const internal = await startServer()
    const front = await startServer()
    const http = httpActions({ allow: [`127.0.0.1:${front.port}`], retry: false })
    for (const spelling of ['0x7f.1', '2130706433', '[::ffff:127.0.0.1]', '0177.0.0.1', '0']) {
      front.handle((_req, res) => json(res, 302, {}, { location: `http://${spelling}:${internal.port}/admin` }))
      const err = await http.get.execute({ url: `${front.origin}/go` }).catch((e) => e)
      expect(err, spelling).toBeInstanceOf(BlockedAddressError)
    }
    expect(internal.connections).toBe(0)
    await http.close()
    await Promise.all([internal.close(), front.close()])
  })
})
