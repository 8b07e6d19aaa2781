import type { Engine } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flakiness, flaky, jsonOf, listen, openPage, startEngine, waitForStatus } from './helpers.js'

let engine: Engine
const servers: { close: () => Promise<void> }[] = []

beforeAll(async () => {
  engine = await startEngine()
})
afterAll(async () => {
  for (const s of servers) await s.close()
  await engine.stop()
})

/** Serves a dashboard at /admin/runs on node:http; `x-user: reader|writer` picks the access. */
const serveDashboard = async (extra: Partial<Parameters<typeof dashboard>[0]> = {}) => {
  const handler = dashboard({
    engine,
    basePath: '/admin/runs',
    auth: (request) => {
      const user = request.headers.get('x-user')
      return { read: user === 'reader' || user === 'writer', write: user === 'writer' }
    },
    ...extra,
  })
  const server = await listen((req, res) => handler.node(req, res))
  servers.push(server)
  return { base: `${server.url}/admin/runs`, origin: server.url }
}

/** A failed run of `flaky` to retry. */
const failedRun = async () => {
  flakiness.broken = true
  const run = await engine.trigger(flaky, { amount: 5 })
  await waitForStatus(engine, run.id, 'failed')
  return run.id
}

describe('auth: default deny', () => {
  it('refuses every request, pages, assets, API and commands, until auth is given', async () => {
    const handler = dashboard({ engine, basePath: '/admin/runs', logger: { debug() {}, info() {}, warn() {}, error() {} } })
    const server = await listen((req, res) => handler.node(req, res))
    servers.push(server)
    const base = `${server.url}/admin/runs`
    for (const path of ['', '/', '/assets/dashboard.js', '/api/runs', '/api/session']) {
      const res = await fetch(`${base}${path}`)
      expect(res.status, path).toBe(403)
      expect(await res.text()).toMatch(/auth/)
    }
    const api = await fetch(`${base}/api/runs`)
    expect((await jsonOf(api)).error.code).toBe('AUTH_NOT_CONFIGURED')
    const post = await fetch(`${base}/api/runs/x/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(post.status).toBe(403)
    expect(post.headers.get('content-security-policy')).toMatch(/default-src 'self'/)
  })

  it('a throwing auth refuses (500) without details, and anything but true is false', async () => {
    const errors: unknown[] = []
    const logger = { debug() {}, info() {}, warn() {}, error: (_m: string, f?: unknown) => errors.push(f) }
    const throwing = dashboard({ engine, basePath: '/d', logger, auth: () => Promise.reject(new Error('db down: secret=hunter2')) })
    const res = await throwing(new Request('http://h/d/api/runs'))
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(text).not.toMatch(/hunter2/)
    expect(errors).toHaveLength(1)
    const truthy = dashboard({ engine, basePath: '/d', auth: () => ({ read: 'yes', write: 1 }) as never })
    expect((await truthy(new Request('http://h/d/api/runs'))).status).toBe(401)
  })
})

describe('auth: read and write apart', () => {
  it('no access: 401 on pages and API; read: pages and API but no command; write: commands', async () => {
    const { base } = await serveDashboard()
    expect((await fetch(`${base}/`)).status).toBe(401)
    expect((await fetch(`${base}/api/runs`)).status).toBe(401)
    expect((await fetch(`${base}/api/runs`, { headers: { 'x-user': 'reader' } })).status).toBe(200)

    const runId = await failedRun()
    const reader = await openPage(`${base}/`, { 'x-user': 'reader' })
    expect(reader.res.status).toBe(200)
    expect(reader.html).toContain('data-write="false"')
    const retryAs = (user: string, session: { token: string; cookie: string }) =>
      fetch(`${base}/api/runs/${encodeURIComponent(runId)}/retry`, {
        method: 'POST',
        headers: { 'x-user': user, 'content-type': 'application/json', 'x-csrf-token': session.token, cookie: session.cookie },
        body: '{}',
      })
    const refused = await retryAs('reader', reader)
    expect(refused.status).toBe(403)
    expect((await jsonOf(refused)).error.code).toBe('FORBIDDEN')
    expect((await engine.getRun(runId)).status).toBe('failed')

    flakiness.broken = false
    const writer = await openPage(`${base}/`, { 'x-user': 'writer' })
    expect(writer.html).toContain('data-write="true"')
    const done = await retryAs('writer', writer)
    expect(done.status).toBe(200)
    expect((await waitForStatus(engine, runId, 'completed')).output).toEqual({ prepared: true, chargeId: 'ch_5' })
  })

  it('passes the node request to auth (where Express keeps its user)', async () => {
    const seen: string[] = []
    const handler = dashboard({
      engine,
      basePath: '/d',
      auth: (_request, { node }) => {
        seen.push(node?.req.url ?? 'none')
        return { read: true, write: false }
      },
    })
    const server = await listen((req, res) => handler.node(req, res))
    servers.push(server)
    expect((await fetch(`${server.url}/d/api/counts`)).status).toBe(200)
    expect(seen).toEqual(['/d/api/counts'])
  })
})

describe('CSRF and origin checks on writes', () => {
  it('refuses a POST without the token, with a wrong one, from another origin or site; takes the right one', async () => {
    const { base, origin } = await serveDashboard()
    const runId = await failedRun()
    flakiness.broken = false
    const session = await openPage(`${base}/`, { 'x-user': 'writer' })
    expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const setCookie = session.res.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    expect(setCookie).toMatch(/Path=\/admin\/runs/)
    const url = `${base}/api/runs/${encodeURIComponent(runId)}/retry`
    const post = (headers: Record<string, string>, body = '{}') =>
      fetch(url, { method: 'POST', headers: { 'x-user': 'writer', 'content-type': 'application/json', ...headers }, body })
    const codeOf = async (res: Response) => [res.status, (await jsonOf(res)).error?.code]

    expect(await codeOf(await post({ cookie: session.cookie }))).toEqual([403, 'CSRF'])
    expect(await codeOf(await post({ 'x-csrf-token': session.token }))).toEqual([403, 'CSRF'])
    const other = await openPage(`${base}/`, { 'x-user': 'writer' })
    expect(await codeOf(await post({ cookie: session.cookie, 'x-csrf-token': other.token }))).toEqual([403, 'CSRF'])
    const good = { cookie: session.cookie, 'x-csrf-token': session.token }
    // Two cookies of the name (one planted by a sibling subdomain): neither is trusted.
    expect(await codeOf(await post({ ...good, cookie: `${session.cookie}; ${other.cookie}` }))).toEqual([403, 'CSRF'])
    expect(await codeOf(await post({ ...good, origin: 'https://evil.example' }))).toEqual([403, 'CROSS_ORIGIN'])
    expect(await codeOf(await post({ ...good, 'sec-fetch-site': 'cross-site' }))).toEqual([403, 'CROSS_ORIGIN'])
    expect(await codeOf(await post({ ...good, 'sec-fetch-site': 'same-site' }))).toEqual([403, 'CROSS_ORIGIN'])
    // A form post (no JSON) is refused even with the token.
    const form = await post({ ...good, 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')
    expect(form.status).toBe(415)
    expect((await engine.getRun(runId)).status).toBe('failed')

    const ok = await post({ ...good, origin, 'sec-fetch-site': 'same-origin' })
    expect(ok.status).toBe(200)
    await waitForStatus(engine, runId, 'completed')
  })

  it('trusts the origins given in trustedOrigins', async () => {
    const { base } = await serveDashboard({ trustedOrigins: ['https://admin.example.com'] })
    const session = await openPage(`${base}/`, { 'x-user': 'writer' })
    const res = await fetch(`${base}/api/runs/nope/cancel`, {
      method: 'POST',
      headers: {
        'x-user': 'writer',
        'content-type': 'application/json',
        origin: 'https://admin.example.com',
        'sec-fetch-site': 'cross-site',
        cookie: session.cookie,
        'x-csrf-token': session.token,
      },
      body: '{}',
    })
    // Past the checks: the engine answers for the unknown run.
    expect(res.status).toBe(404)
    expect((await jsonOf(res)).error.code).toBe('ERR_RUN_NOT_FOUND')
  })

  it('keeps a valid cookie and takes only POST for commands', async () => {
    const { base } = await serveDashboard()
    const first = await openPage(`${base}/`, { 'x-user': 'writer' })
    const again = await openPage(`${base}/`, { 'x-user': 'writer', cookie: first.cookie })
    expect(again.token).toBe(first.token)
    expect(again.res.headers.get('set-cookie')).toBeNull()
    const get = await fetch(`${base}/api/runs/x/retry`, { headers: { 'x-user': 'writer' } })
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    const put = await fetch(`${base}/api/runs/x/retry`, { method: 'PUT', headers: { 'x-user': 'writer' } })
    expect(put.status).toBe(405)
  })

  it('sends the security headers: CSP of self only, nosniff, no framing, no caching of data', async () => {
    const { base } = await serveDashboard()
    for (const path of ['/', '/api/runs', '/assets/dashboard.js']) {
      const res = await fetch(`${base}${path}`, { headers: { 'x-user': 'reader' } })
      expect(res.status, path).toBe(200)
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp).toMatch(/default-src 'self'/)
      expect(csp).toMatch(/script-src 'self'(;|$)/)
      expect(csp).toMatch(/frame-ancestors 'none'/)
      expect(csp).not.toMatch(/unsafe|\*|https?:/)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
    }
    const page = await fetch(`${base}/`, { headers: { 'x-user': 'reader' } })
    expect(page.headers.get('cache-control')).toBe('no-store')
  })
})
