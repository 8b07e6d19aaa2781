import { type Engine, InvalidArgumentError } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allWorkflows, approval, chargeCard, echo, flakiness, flaky, jsonOf, parent, startEngine, waitForStatus } from './helpers.js'

let engine: Engine
let handler: ReturnType<typeof dashboard>
let session: { cookie: string; token: string }

beforeAll(async () => {
  engine = await startEngine()
  handler = dashboard({ engine, basePath: '/ops', workflows: allWorkflows, auth: () => ({ read: true, write: true }) })
  const res = await handler(new Request('http://app.test/ops/api/session'))
  const body = await jsonOf(res)
  session = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] as string, token: body.csrfToken }
})
afterAll(() => engine.stop())

const get = async (path: string) => {
  const res = await handler(new Request(`http://app.test/ops/api/${path}`))
  return { status: res.status, body: await jsonOf(res) }
}
const post = async (runId: string, command: string, body: unknown = {}) => {
  const res = await handler(
    new Request(`http://app.test/ops/api/runs/${encodeURIComponent(runId)}/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.token, origin: 'http://app.test' },
      body: JSON.stringify(body),
    }),
  )
  return { status: res.status, body: await jsonOf(res) }
}

describe('reading', () => {
  it('lists runs newest first with filters, pages by nextCursor, counts by status', async () => {
    flakiness.broken = true
    const failed = await engine.trigger(flaky, { amount: 1 }, { id: 'list:failed' })
    await waitForStatus(engine, failed.id, 'failed')
    const waiting = await engine.trigger(approval, {}, { id: 'list:waiting' })
    await waitForStatus(engine, waiting.id, 'waiting')

    const all = await get('runs?idPrefix=list:')
    expect(all.body.runs.map((r: { id: string }) => r.id)).toEqual(['list:waiting', 'list:failed'])
    // The list carries no input, state or output.
    expect(all.body.runs[1]).not.toHaveProperty('input')
    expect(all.body.runs[1].error.message).toMatch(/card declined/)

    const onlyFailed = await get('runs?status=failed&idPrefix=list:')
    expect(onlyFailed.body.runs.map((r: { id: string }) => r.id)).toEqual(['list:failed'])
    const byWorkflow = await get('runs?workflowId=approval&idPrefix=list:')
    expect(byWorkflow.body.runs.map((r: { id: string }) => r.id)).toEqual(['list:waiting'])
    const future = await get(`runs?from=${Date.now() + 60_000}`)
    expect(future.body.runs).toEqual([])

    const first = await get('runs?idPrefix=list:&limit=1')
    expect(first.body.runs).toHaveLength(1)
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const second = await get(`runs?idPrefix=list:&limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`)
    expect(second.body.runs.map((r: { id: string }) => r.id)).toEqual(['list:failed'])

    const counts = await get('counts?workflowId=approval')
    expect(counts.body.byStatus.waiting).toBeGreaterThanOrEqual(1)
    expect(counts.body.total).toBe(Object.values(counts.body.byStatus as Record<string, number>).reduce((a, b) => a + b, 0))
  })

  it('refuses bad filters with 400 naming the parameter', async () => {
    expect(await get('runs?status=exploded')).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringMatching(/"status"/) } },
    })
    expect(await get('runs?limit=5000')).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/"limit"/) } } })
    expect(await get('runs?from=yesterday')).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/"from"/) } } })
  })

  it('shows one run: steps with idempotency keys and durations, redacted input, child runs as a tree', async () => {
    flakiness.broken = false
    const run = await engine.trigger(flaky, { amount: 7, apiKey: 'sk_live_secret' }, { id: 'detail/a#1+b=c' })
    await run.result()
    const { status, body } = await get(`runs/${encodeURIComponent(run.id)}`)
    expect(status).toBe(200)
    expect(body.run.input).toEqual({ amount: 7, apiKey: '[redacted]' })
    expect(JSON.stringify(body)).not.toContain('sk_live_secret')
    const charge = body.run.steps.find((s: { id: string }) => s.id.startsWith('charge-card'))
    expect(charge).toMatchObject({ kind: 'action', status: 'completed', attempts: 1, idempotencyKey: `${run.id}:${charge.id}` })
    expect(charge.durationMs).toBeGreaterThanOrEqual(0)

    const p = await engine.trigger(parent, {}, { id: 'tree:parent' })
    await p.result()
    const tree = await get(`runs/${encodeURIComponent(p.id)}`)
    expect(tree.body.children).toEqual([
      expect.objectContaining({ workflowId: 'child', status: 'completed', stepId: expect.stringContaining('kid'), children: [] }),
    ])
    const childId = tree.body.children[0].id
    const child = await get(`runs/${encodeURIComponent(childId)}`)
    expect(child.body.parents).toEqual([{ id: p.id, workflowId: 'parent', status: 'completed' }])
  })

  it('answers 404 for an unknown run and for unknown API routes', async () => {
    expect(await get('runs/no-such-run')).toMatchObject({ status: 404, body: { error: { code: 'ERR_RUN_NOT_FOUND' } } })
    expect((await get('nope')).status).toBe(404)
  })

  it('lists workflows with their JSON Schemas and the action catalog; no schedules without engine.schedules', async () => {
    const { body } = await get('workflows')
    const wf = body.workflows.find((w: { id: string }) => w.id === 'flaky')
    expect(wf.inputSchema).toMatchObject({ type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] })
    const ap = body.workflows.find((w: { id: string }) => w.id === 'approval')
    expect(ap.signals).toEqual([{ name: 'approve', schema: expect.objectContaining({ type: 'object' }) }])
    const actions = await get('actions')
    expect(actions.body.actions).toEqual([expect.objectContaining({ id: chargeCard.id, description: chargeCard.description })])
    const noSchedules = dashboard({
      engine: Object.assign(Object.create(engine), { schedules: undefined }),
      basePath: '/',
      auth: () => ({ read: true, write: false }),
    })
    const none = await noSchedules(new Request('http://app.test/api/schedules'))
    expect(await jsonOf(none)).toEqual({ supported: false, schedules: [] })

    // The engine's own schedules.
    await engine.schedules.create({ id: 'hourly-echo', workflow: echo, every: '1h', paused: true })
    const real = await get('schedules')
    expect(real.body.supported).toBe(true)
    expect(real.body.schedules).toEqual([
      expect.objectContaining({ id: 'hourly-echo', workflowId: 'echo', every: 3_600_000, paused: true }),
    ])

    const withSchedules = dashboard({
      engine: Object.assign(Object.create(engine), { schedules: { list: async () => ({ schedules: [{ id: 'weekly', nextRunAt: 5 }] }) } }),
      basePath: '/',
      auth: () => ({ read: true, write: false }),
    })
    const res = await withSchedules(new Request('http://app.test/api/schedules'))
    expect(await jsonOf(res)).toEqual({ supported: true, schedules: [{ id: 'weekly', nextRunAt: 5 }] })
  })
})

describe('commands', () => {
  it('signal: checked against the declared schema, then delivered', async () => {
    const run = await engine.trigger(approval, {}, { id: 'cmd:approve' })
    await waitForStatus(engine, run.id, 'waiting')
    expect(await post(run.id, 'signal', { name: 'approve', payload: { note: 42 } })).toMatchObject({
      status: 400,
      body: { error: { code: 'ERR_VALIDATION' } },
    })
    expect(await post(run.id, 'signal', { name: 'reject' })).toMatchObject({
      status: 400,
      body: { error: { code: 'ERR_INVALID_ARGUMENT' } },
    })
    expect(await post(run.id, 'signal', {})).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/"name"/) } } })
    expect(await post(run.id, 'signal', { name: 'approve', payload: { note: 'ok' } })).toEqual({
      status: 200,
      body: { runId: run.id, delivered: true },
    })
    expect(await run.result()).toEqual({ approved: 'ok' })
    expect((await post(run.id, 'signal', { name: 'approve', payload: { note: 'late' } })).body.delivered).toBe(false)
  })

  it('cancel, retry and fork from a step', async () => {
    const waiting = await engine.trigger(echo, {}, { id: 'cmd:cancel' })
    await waitForStatus(engine, waiting.id, 'waiting')
    expect((await post(waiting.id, 'cancel', { reason: 'not needed' })).status).toBe(200)
    expect((await waitForStatus(engine, waiting.id, 'cancelled')).error?.message).toMatch(/not needed/)

    flakiness.broken = true
    const run = await engine.trigger(flaky, { amount: 3 }, { id: 'cmd:retry' })
    await waitForStatus(engine, run.id, 'failed')
    // Retried while the card is still declined: it fails again, one retry counted.
    expect((await post(run.id, 'retry')).status).toBe(200)
    await waitForStatus(engine, run.id, 'failed')
    expect((await get(`runs/${run.id}`)).body.run.retries).toBe(1)
    flakiness.broken = false
    expect(await post(run.id, 'retry')).toEqual({ status: 200, body: { runId: run.id } })
    await waitForStatus(engine, run.id, 'completed')
    // Retrying a completed run is the engine's refusal, passed on.
    expect((await post(run.id, 'retry')).status).toBeGreaterThanOrEqual(400)

    const info = await engine.getRun(run.id)
    const fromStep = info.steps[1]?.id as string
    const fork = await post(run.id, 'fork', { fromStep, input: { amount: 9 }, id: 'cmd:fork' })
    expect(fork).toEqual({ status: 200, body: { runId: 'cmd:fork', forkedFrom: run.id } })
    expect((await waitForStatus(engine, 'cmd:fork', 'completed')).output).toEqual({ prepared: true, chargeId: 'ch_9' })
    expect(await post(run.id, 'fork', { fromStep: 'no-such-step' })).toMatchObject({ status: 400 })
  })

  it('refuses malformed bodies and oversize ones', async () => {
    const send = (body: string, type = 'application/json') =>
      handler(
        new Request('http://app.test/ops/api/runs/x/signal', {
          method: 'POST',
          headers: { 'content-type': type, cookie: session.cookie, 'x-csrf-token': session.token },
          body,
        }),
      )
    expect((await send('{nope')).status).toBe(400)
    expect((await send('[1]')).status).toBe(400)
    expect((await send(JSON.stringify({ name: 'x', payload: 'a'.repeat(300_000) }))).status).toBe(413)
  })
})

describe('options', () => {
  it('throws InvalidArgumentError naming the option', () => {
    const bad = (options: unknown, name: string) => {
      expect(() => dashboard(options as never)).toThrow(InvalidArgumentError)
      expect(() => dashboard(options as never)).toThrow(new RegExp(`"${name}"`))
    }
    bad({ basePath: '/x' }, 'engine')
    bad({ engine }, 'basePath')
    bad({ engine, basePath: 'admin' }, 'basePath')
    bad({ engine, basePath: '/a b' }, 'basePath')
    bad({ engine, basePath: '/x', auth: 'yes' }, 'auth')
    bad({ engine, basePath: '/x', workflows: [{}] }, 'workflows')
    bad({ engine, basePath: '/x', trustedOrigins: ['https://a.example/path'] }, 'trustedOrigins')
    bad({ engine, basePath: '/x', refreshInterval: -1 }, 'refreshInterval')
  })
})
