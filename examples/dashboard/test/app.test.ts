import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Engine, memoryStore, NonRetryableError, silentLogger } from '@do-sdk/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'

/** The gateway declines while `declining` is true. */
const gateway = { declining: true }
let engine: Engine
let server: Server
let url: string

beforeAll(async () => {
  const made = createApp({
    store: memoryStore(),
    users: { ada: { password: 'ada-password', role: 'admin' }, bob: { password: 'bob-password', role: 'viewer' } },
    charge: async ({ orderId }) => {
      if (gateway.declining) throw new NonRetryableError(`Card declined for order ${orderId}`)
      return { chargeId: `ch_${orderId}` }
    },
    logger: silentLogger,
  })
  engine = made.engine
  await engine.start()
  server = made.app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await engine.stop()
})

const signIn = async (name: string, password: string) => {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ name, password, next: '/admin/runs/' }),
  })
  return { res, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] as string }
}

/** The dashboard page as a signed-in browser gets it: the CSRF token and both cookies. */
const openDashboard = async (sid: string) => {
  const res = await fetch(`${url}/admin/runs/`, { headers: { cookie: sid } })
  const html = await res.text()
  const csrf = (res.headers.get('set-cookie') ?? '').split(';')[0] as string
  return { res, html, token: /data-csrf="([^"]*)"/.exec(html)?.[1] ?? '', cookie: `${sid}; ${csrf}` }
}

const retry = (runId: string, session: { token: string; cookie: string }) =>
  fetch(`${url}/admin/runs/api/runs/${encodeURIComponent(runId)}/retry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.token, origin: url },
    body: '{}',
  })

const statusOf = async (runId: string, want: string) => {
  for (;;) {
    const run = await engine.getRun(runId)
    if (run.status === want) return run
    if (run.status === 'completed' || run.status === 'cancelled') throw new Error(`run ${runId} ended ${run.status}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('the dashboard behind the sign-in', () => {
  it('shows nothing without a session: pages go to /login, the API and assets answer 401', async () => {
    const page = await fetch(`${url}/admin/runs/`, { redirect: 'manual' })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/login?next=%2Fadmin%2Fruns%2F')
    for (const path of ['/admin/runs/api/runs', '/admin/runs/assets/dashboard.js']) {
      const res = await fetch(`${url}${path}`, { redirect: 'manual' })
      expect(res.status, path).toBe(401)
    }
    const login = await fetch(`${url}/login?next=${encodeURIComponent('https://evil.example/')}`)
    expect(await login.text()).toContain('value="/admin/runs/"')
  })

  it('refuses a wrong password, an unknown user and a sign-in posted from another site', async () => {
    expect((await signIn('ada', 'nope')).res.status).toBe(401)
    expect((await signIn('mallory', 'ada-password')).res.status).toBe(401)
    const crossSite = await fetch(`${url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ name: 'ada', password: 'ada-password' }),
    })
    expect(crossSite.status).toBe(403)
  })

  it('a viewer reads but may not retry; an admin retries a failed order to completion; signing out closes it', async () => {
    const admin = await signIn('ada', 'ada-password')
    expect(admin.res.status).toBe(303)
    expect(admin.res.headers.get('location')).toBe('/admin/runs/')
    const order = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: admin.cookie },
      body: JSON.stringify({ orderId: 'A-1', item: 'teapot', quantity: 2 }),
    })
    const { runId } = (await order.json()) as { runId: string }
    expect((await statusOf(runId, 'failed')).error?.message).toMatch(/Card declined/)

    const viewer = await signIn('bob', 'bob-password')
    const viewerPage = await openDashboard(viewer.cookie)
    expect(viewerPage.res.status).toBe(200)
    expect(viewerPage.html).toContain('data-write="false"')
    const list = await fetch(`${url}/admin/runs/api/runs?status=failed`, { headers: { cookie: viewer.cookie } })
    expect(((await list.json()) as { runs: { id: string }[] }).runs.map((r) => r.id)).toContain(runId)
    expect((await retry(runId, viewerPage)).status).toBe(403)

    gateway.declining = false
    const adminPage = await openDashboard(admin.cookie)
    expect(adminPage.html).toContain('data-write="true"')
    expect((await retry(runId, adminPage)).status).toBe(200)
    await statusOf(runId, 'waiting')
    const packed = await fetch(`${url}/admin/runs/api/runs/${encodeURIComponent(runId)}/signal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: adminPage.cookie, 'x-csrf-token': adminPage.token, origin: url },
      body: JSON.stringify({ name: 'packed', payload: { by: 'ana' } }),
    })
    expect(packed.status).toBe(200)
    expect((await statusOf(runId, 'completed')).output).toEqual({ orderId: 'A-1', chargeId: 'ch_A-1', shipped: true, packedBy: 'ana' })

    await fetch(`${url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie } })
    expect((await fetch(`${url}/admin/runs/api/runs`, { headers: { cookie: admin.cookie } })).status).toBe(401)
  })
})
