import type { IncomingMessage } from 'node:http'
import type { Engine } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import express from 'express'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approval, listen, openPage, startEngine, waitForStatus } from './helpers.js'

let engine: Engine
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  engine = await startEngine()
})
afterAll(async () => {
  for (const close of closers) await close()
  await engine.stop()
})

const open = () => ({ read: true, write: true })

/** Sends an approve signal through the dashboard at `base` (page first, for the CSRF token and cookie). */
const approveThrough = async (base: string, runId: string, headers: Record<string, string> = {}) => {
  const page = await openPage(`${base}/`, headers)
  expect(page.res.status).toBe(200)
  return fetch(`${base}/api/runs/${encodeURIComponent(runId)}/signal`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', cookie: page.cookie, 'x-csrf-token': page.token },
    body: JSON.stringify({ name: 'approve', payload: { note: 'via adapter' } }),
  })
}

const waitingRun = async (id: string) => {
  const run = await engine.trigger(approval, {}, { id })
  await waitForStatus(engine, run.id, 'waiting')
  return run
}

describe('the Fetch handler and basePath', () => {
  it('serves the base path with and without a slash, and nothing outside it', async () => {
    const handler = dashboard({ engine, basePath: '/admin/runs/', auth: open })
    const status = async (path: string) => (await handler(new Request(`http://h${path}`))).status
    expect(await status('/admin/runs')).toBe(200)
    expect(await status('/admin/runs/')).toBe(200)
    expect(await status('/admin/runs/api/runs')).toBe(200)
    expect(await status('/admin/runsX')).toBe(404)
    expect(await status('/admin')).toBe(404)
    expect(await status('/')).toBe(404)
    const page = await (await handler(new Request('http://h/admin/runs'))).text()
    expect(page).toContain('src="/admin/runs/assets/dashboard.js?v=')
    const js = await handler(new Request('http://h/admin/runs/assets/dashboard.js'))
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    const head = await handler(new Request('http://h/admin/runs/api/runs', { method: 'HEAD' }))
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('mounts at the root with basePath "/"', async () => {
    const handler = dashboard({ engine, basePath: '/', auth: open })
    expect((await handler(new Request('http://h/'))).status).toBe(200)
    expect((await handler(new Request('http://h/api/counts'))).status).toBe(200)
    const page = await (await handler(new Request('http://h/'))).text()
    expect(page).toContain('src="/assets/dashboard.js?v=')
  })

  it('runs in Hono', async () => {
    const runs = dashboard({ engine, basePath: '/admin/runs', auth: open })
    const app = new Hono()
    app.all('/admin/runs/*', (c) => runs(c.req.raw))
    app.get('/', (c) => c.text('home'))
    const run = await waitingRun('hono:1')
    const page = await app.request('http://h/admin/runs/')
    const token = /data-csrf="([^"]*)"/.exec(await page.text())?.[1] ?? ''
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string
    const res = await app.request(`http://h/admin/runs/api/runs/${run.id}/signal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': token },
      body: JSON.stringify({ name: 'approve', payload: { note: 'hono' } }),
    })
    expect(res.status).toBe(200)
    expect(await run.result()).toEqual({ approved: 'hono' })
    expect(await (await app.request('http://h/')).text()).toBe('home')
  })
})

describe('.node', () => {
  it('on node:http: 404 outside the base path without next, the dashboard inside', async () => {
    const runs = dashboard({ engine, basePath: '/admin/runs', auth: open })
    const server = await listen((req, res) => runs.node(req, res))
    closers.push(server.close)
    expect((await fetch(`${server.url}/elsewhere`)).status).toBe(404)
    const run = await waitingRun('node:1')
    expect((await approveThrough(`${server.url}/admin/runs`, run.id)).status).toBe(200)
    expect(await run.result()).toEqual({ approved: 'via adapter' })
    const page = await openPage(`${server.url}/admin/runs/`)
    const huge = await fetch(`${server.url}/admin/runs/api/runs/node%3A1/signal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: page.cookie, 'x-csrf-token': page.token },
      body: JSON.stringify({ name: 'approve', payload: { note: 'x'.repeat(1_000_000) } }),
    })
    expect(huge.status).toBe(413)
    const head = await fetch(`${server.url}/admin/runs/api/counts`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toMatch(/json/)
  })

  it('in Express: behind a login middleware, after express.json(), next() outside the base path', async () => {
    const runs = dashboard({
      engine,
      basePath: '/admin/runs',
      // Express's own user, set by the app's middleware, reaches auth through the node request.
      auth: (_request, { node }) => {
        const user = (node?.req as (IncomingMessage & { user?: { admin: boolean } }) | undefined)?.user
        return { read: user !== undefined, write: user?.admin === true }
      },
    })
    const app = express()
    app.use(express.json())
    app.use((req, _res, next) => {
      const name = req.headers['x-user']
      if (name === 'ada' || name === 'bob') Object.assign(req, { user: { admin: name === 'ada' } })
      next()
    })
    app.use('/admin/runs', runs.node)
    app.get('/hello', (_req, res) => {
      res.send('express')
    })
    app.use(runs.node) // mounted without a path too: it passes what is not its own on.
    app.use((_req, res) => {
      res.status(404).send('express 404')
    })
    const server = await listen(app)
    closers.push(server.close)

    expect(await (await fetch(`${server.url}/hello`)).text()).toBe('express')
    expect(await (await fetch(`${server.url}/nowhere`)).text()).toBe('express 404')
    expect((await fetch(`${server.url}/admin/runs/api/runs`)).status).toBe(401)
    expect((await fetch(`${server.url}/admin/runs/api/runs`, { headers: { 'x-user': 'bob' } })).status).toBe(200)

    const run = await waitingRun('express:1')
    expect((await approveThrough(`${server.url}/admin/runs`, run.id, { 'x-user': 'bob' })).status).toBe(403)
    // express.json() consumed the body before the dashboard: it is taken from req.body.
    expect((await approveThrough(`${server.url}/admin/runs`, run.id, { 'x-user': 'ada' })).status).toBe(200)
    expect(await run.result()).toEqual({ approved: 'via adapter' })
  })

  it('in Fastify: a scope that leaves bodies unparsed and hands the raw request over', async () => {
    const runs = dashboard({ engine, basePath: '/admin/runs', auth: open })
    const app = Fastify()
    const handle = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack()
      runs.node(request.raw, reply.raw)
    }
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers()
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null))
      scope.all('/admin/runs', handle)
      scope.all('/admin/runs/*', handle)
    })
    app.get('/hello', async () => 'fastify')
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const address = app.server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`

    expect(await (await fetch(`${url}/hello`)).text()).toBe('fastify')
    const run = await waitingRun('fastify:1')
    expect((await approveThrough(`${url}/admin/runs`, run.id)).status).toBe(200)
    expect(await run.result()).toEqual({ approved: 'via adapter' })
    const id = encodeURIComponent('fastify/odd#id')
    expect((await fetch(`${url}/admin/runs/api/runs/${id}`)).status).toBe(404)
  })
})
