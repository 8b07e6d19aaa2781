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
  it('an address entry opens every spelling of it, and names resolving to it', async () => {
    const http = httpActions({ allow: ['127.0.0.1'] })
    for (const url of spellings(server.port)) {
      const out = await http.get.execute({ url })
      expect(out.status, url).toBe(200)
      expect(out.body, url).toEqual({ path: new URL(url).pathname })
    }
    await http.close()
  })

  it('a network entry opens the network', async () => {
    const http = httpActions({ allow: ['127.0.0.0/8'] })
    await expect(http.get.execute({ url: `http://0x7f.1:${server.port}/` })).resolves.toMatchObject({ status: 200 })
    await http.close()
  })

  it('a host entry opens that name only, not the address it resolves to', async () => {
    const http = httpActions({ allow: [`localhost:${server.port}`], retry: false })
    await expect(http.get.execute({ url: `http://localhost:${server.port}/` })).resolves.toMatchObject({ status: 200 })
    await expect(http.get.execute({ url: `http://127.0.0.1:${server.port}/` })).rejects.toBeInstanceOf(BlockedAddressError)
    await http.close()
  })

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
