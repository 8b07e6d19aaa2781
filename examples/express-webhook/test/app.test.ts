import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Engine, type RunInfo, silentLogger } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import type { OutgoingEmail, SignupState } from '../src/onboarding.js'
import { type Serving, serve } from '../src/serve.js'

const dir = mkdtempSync(join(tmpdir(), 'do-express-'))
const store = sqliteStore({ path: join(dir, 'do.db') })
const sent: OutgoingEmail[] = []
let serving: Serving
let engine: Engine

beforeAll(async () => {
  const created = createApp({
    store,
    transport: async (email) => {
      sent.push(email)
      return { messageId: `msg-${sent.length}` }
    },
    publicUrl: () => serving.url,
    activationDelay: '100ms',
    clickTimeout: '1m',
    logger: silentLogger,
  })
  engine = created.engine
  serving = await serve(created.app, engine, { port: 0 })
})

afterAll(async () => {
  await serving?.close()
  await store.close?.()
  rmSync(dir, { recursive: true, force: true })
})

const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
  const res = await fetch(`${serving.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any }
}

const runPath = (id: string) => `/runs/${encodeURIComponent(id)}`

/** Polls GET /runs/:id until `done` holds, for at most 5 s. */
const waitForRun = async (id: string, done: (run: RunInfo<unknown, SignupState>) => boolean) => {
  const until = Date.now() + 5_000
  for (;;) {
    const { status, body } = await call('GET', runPath(id))
    expect(status).toBe(200)
    if (done(body)) return body as RunInfo<unknown, SignupState>
    if (Date.now() > until) throw new Error(`run ${id} still ${body.status} after 5 s: ${JSON.stringify(body)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('the Express app with an embedded engine', () => {
  it('signs up once per email, waits for the click, and completes after the webhook', async () => {
    const first = await call('POST', '/signup', { email: 'Jane.Doe@Example.com', name: 'Jane Doe' })
    expect(first).toEqual({ status: 202, body: { runId: 'signup:jane.doe@example.com', status: expect.any(String) } })
    // The same person again (a double submit): the same run, not a second one.
    const second = await call('POST', '/signup', { email: '  jane.doe@example.com ', name: 'Jane' })
    expect(second.status).toBe(202)
    expect(second.body.runId).toBe(first.body.runId)
    const runId: string = first.body.runId

    const waiting = await waitForRun(runId, (r) => r.status === 'waiting')
    expect(waiting.waitingFor).toEqual(['email.clicked'])
    expect(waiting.state).toEqual({ email: 'jane.doe@example.com', status: 'email_sent', welcomeEmailSent: true, clickedAt: null })
    expect(waiting.input).toEqual({ email: 'jane.doe@example.com', name: 'Jane Doe' })
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ to: 'jane.doe@example.com', subject: 'Welcome, Jane Doe!', idempotencyKey: `${runId}:send-email#1` })
    expect(sent[0]!.text).toContain(`${serving.url}/webhooks/email-clicked?runId=${encodeURIComponent(runId)}`)

    const click = await call('POST', '/webhooks/email-clicked', { runId })
    expect(click).toEqual({ status: 202, body: { runId, delivered: true } })

    const done = await waitForRun(runId, (r) => r.status === 'completed' || r.status === 'failed')
    expect(done.status).toBe('completed')
    expect(done.output).toEqual({ activated: true })
    expect(done.state).toMatchObject({ status: 'active', welcomeEmailSent: true, clickedAt: expect.any(Number) })
    expect(done.steps.map((s) => [s.id, s.status])).toEqual([
      ['public-url#1', 'completed'],
      ['send-email#1', 'completed'],
      ['setState#1', 'completed'],
      ['wait:email.clicked#1', 'completed'],
      ['setState#2', 'completed'],
      ['sleep#1', 'completed'],
      ['send-tips#1', 'completed'],
      ['setState#3', 'completed'],
    ])
    // The sleep really lasted its 100 ms.
    const sleep = done.steps.find((s) => s.id === 'sleep#1')!
    expect(sleep.completedAt! - sleep.startedAt).toBeGreaterThanOrEqual(100)
    expect(sent.map((e) => e.subject)).toEqual(['Welcome, Jane Doe!', 'Three tips to get started'])

    // Providers deliver webhooks more than once: a late click is acknowledged, and changes nothing.
    const late = await call('POST', `/webhooks/email-clicked?runId=${encodeURIComponent(runId)}`)
    expect(late).toEqual({ status: 200, body: { runId, delivered: false, reason: 'run is completed' } })
    expect(sent).toHaveLength(2)
  })

  it('takes the run id from the query string, and hashes emails that cannot be a run id', async () => {
    const { status, body } = await call('POST', '/signup', { email: 'bob+news@example.com', name: 'Bob' })
    expect(status).toBe(202)
    expect(body.runId).toMatch(/^signup:sha256-[0-9a-f]{64}$/)
    await waitForRun(body.runId, (r) => r.status === 'waiting')
    // The link in the email, as the provider would call it.
    const email = sent.find((e) => e.to === 'bob+news@example.com')!
    const link = new URL(/http:\S+/.exec(email.text)![0])
    expect(link.searchParams.get('runId')).toBe(body.runId)
    const click = await call('POST', `${link.pathname}${link.search}`)
    expect(click.status).toBe(202)
    const done = await waitForRun(body.runId, (r) => r.status === 'completed' || r.status === 'failed')
    expect(done.state).toMatchObject({ email: 'bob+news@example.com', status: 'active' })
  })

  it('answers 400 with the zod issues on a bad body, and starts nothing', async () => {
    const bad = await call('POST', '/signup', { email: 'not-an-email', name: '' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('ERR_VALIDATION')
    expect(bad.body.error.issues.map((i: { path: unknown[] }) => i.path)).toEqual([['email'], ['name']])
    expect(bad.body.error.issues[0].message).toMatch(/email/i)

    const missing = await call('POST', '/signup', { name: 'No Email' })
    expect(missing.status).toBe(400)
    expect(missing.body.error.issues).toEqual([expect.objectContaining({ path: ['email'] })])

    const malformed = await call('POST', '/signup', '{"email": ')
    expect(malformed.status).toBe(400)

    const webhook = await call('POST', '/webhooks/email-clicked', {})
    expect(webhook.status).toBe(400)
    expect(webhook.body.error.message).toContain('runId')

    expect(sent.filter((e) => e.to === 'not-an-email')).toEqual([])
    await expect(call('GET', runPath('signup:not-an-email'))).resolves.toMatchObject({ status: 404 })
  })

  it('answers 404 for an unknown run, on GET and on the webhook', async () => {
    const get = await call('GET', runPath('signup:nobody@example.com'))
    expect(get).toEqual({
      status: 404,
      body: { error: { code: 'ERR_RUN_NOT_FOUND', message: '[do-sdk] Run "signup:nobody@example.com" not found' } },
    })
    const click = await call('POST', '/webhooks/email-clicked', { runId: 'signup:nobody@example.com' })
    expect(click.status).toBe(404)
    expect(click.body.error.code).toBe('ERR_RUN_NOT_FOUND')
    // An id the engine refuses outright is a bad request, not a missing run.
    const invalid = await call('GET', runPath('has spaces'))
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.code).toBe('ERR_INVALID_ARGUMENT')
    const route = await call('GET', '/nope')
    expect(route.status).toBe(404)
  })

  it('a click on a finished run is acknowledged with delivered: false, because signal() said so', async () => {
    const { body } = await call('POST', '/signup', { email: 'gone@example.com', name: 'Gone' })
    await waitForRun(body.runId, (r) => r.status === 'waiting')
    await engine.cancel(body.runId)
    await waitForRun(body.runId, (r) => r.status === 'cancelled')
    // engine.signal resolves false for a finished run (and stores nothing): the answer says so, with a 2xx
    // so that the provider stops retrying. Never "delivered: true".
    const signals: boolean[] = []
    const signal = engine.signal.bind(engine)
    engine.signal = async (...args) => {
      const delivered = await signal(...args)
      signals.push(delivered)
      return delivered
    }
    try {
      const click = await call('POST', '/webhooks/email-clicked', { runId: body.runId })
      expect(click).toEqual({ status: 200, body: { runId: body.runId, delivered: false, reason: 'run is cancelled' } })
      expect(signals).toEqual([false])
    } finally {
      engine.signal = signal
    }
  })

  it('a missing or malformed run id is a 400, never signalled as a string like "undefined"', async () => {
    const { body } = await call('POST', '/signup', { email: 'waits@example.com', name: 'Waits' })
    await waitForRun(body.runId, (r) => r.status === 'waiting')
    for (const [path, payload] of [
      ['/webhooks/email-clicked', {}],
      ['/webhooks/email-clicked', { runId: null }],
      ['/webhooks/email-clicked', { runId: '' }],
      ['/webhooks/email-clicked', { runId: 42 }],
      ['/webhooks/email-clicked', { runId: [body.runId] }],
      ['/webhooks/email-clicked', { runid: body.runId }],
      ['/webhooks/email-clicked?runId=', undefined],
      [`/webhooks/email-clicked?runId=${encodeURIComponent(body.runId)}&runId=x`, undefined],
      ['/webhooks/email-clicked', undefined],
    ] as const) {
      const res = await call('POST', path, payload)
      expect(res.status, `${path} ${JSON.stringify(payload)}`).toBe(400)
      expect(res.body.error.message).toContain('runId')
    }
    // No run named "undefined" was looked for, and the waiting run got nothing.
    expect(await call('GET', runPath('undefined'))).toMatchObject({ status: 404 })
    const still = await waitForRun(body.runId, (r) => r.status === 'waiting')
    expect(still.state).toMatchObject({ status: 'email_sent', clickedAt: null })
    expect(still.steps.find((s) => s.id === 'wait:email.clicked#1')?.status).not.toBe('completed')
    // The well-formed click then goes through.
    expect(await call('POST', '/webhooks/email-clicked', { runId: body.runId })).toEqual({
      status: 202,
      body: { runId: body.runId, delivered: true },
    })
    await waitForRun(body.runId, (r) => r.status === 'completed')
  })
})
