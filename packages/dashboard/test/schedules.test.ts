// The schedule commands (pause, resume, trigger) through the Fetch handler: the same write path as
// the run commands (auth write, CSRF token, origin), the engine's own refusals passed on, and
// nothing written when a command is refused.
import type { Engine } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { echo, jsonOf, startEngine, waitForStatus } from './helpers.js'

let engine: Engine
let handler: ReturnType<typeof dashboard>
let session: { cookie: string; token: string }

beforeAll(async () => {
  engine = await startEngine()
  handler = dashboard({
    engine,
    basePath: '/ops',
    // `x-user: reader|writer` picks the access.
    auth: (request) => {
      const user = request.headers.get('x-user')
      return { read: user === 'reader' || user === 'writer', write: user === 'writer' }
    },
  })
  const res = await handler(new Request('http://app.test/ops/api/session', { headers: { 'x-user': 'writer' } }))
  session = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] as string, token: (await jsonOf(res)).csrfToken }
  await engine.schedules.create({ id: 'hourly/echo', workflow: echo, every: '1h' })
})
afterAll(() => engine.stop())

const good = () => ({ 'x-user': 'writer', cookie: session.cookie, 'x-csrf-token': session.token, origin: 'http://app.test' })

const post = async (scheduleId: string, command: string, headers: Record<string, string> = good()) => {
  const res = await handler(
    new Request(`http://app.test/ops/api/schedules/${encodeURIComponent(scheduleId)}/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    }),
  )
  return { status: res.status, body: await jsonOf(res) }
}

/** What a refused command must leave as it was: the schedules and the runs. */
const snapshot = async () => ({
  schedules: (await engine.schedules.list()).schedules,
  runs: await engine.countRuns({}),
})

describe('schedule commands', () => {
  it('pause, resume and trigger a schedule through POST api/schedules/:id/…', async () => {
    const paused = await post('hourly/echo', 'pause')
    expect(paused).toMatchObject({ status: 200, body: { scheduleId: 'hourly/echo', schedule: { id: 'hourly/echo', paused: true } } })
    expect(paused.body.schedule).not.toHaveProperty('nextRunAt')
    expect((await engine.schedules.get('hourly/echo')).paused).toBe(true)
    const listed = await handler(new Request('http://app.test/ops/api/schedules', { headers: { 'x-user': 'reader' } }))
    expect((await jsonOf(listed)).schedules).toEqual([expect.objectContaining({ id: 'hourly/echo', paused: true })])

    const resumed = await post('hourly/echo', 'resume')
    expect(resumed).toMatchObject({ status: 200, body: { schedule: { paused: false, nextRunAt: expect.any(Number) } } })
    expect((await engine.schedules.get('hourly/echo')).paused).toBe(false)

    const triggered = await post('hourly/echo', 'trigger')
    expect(triggered.status).toBe(200)
    expect(triggered.body).toEqual({ scheduleId: 'hourly/echo', runId: expect.stringMatching(/^hourly\/echo@manual-/) })
    const run = await waitForStatus(engine, triggered.body.runId, 'waiting')
    expect(run.workflowId).toBe('echo')
    expect((await engine.schedules.get('hourly/echo')).lastRunId).toBe(triggered.body.runId)

    // A GET to a command's path is a 405, as for the run commands.
    const get = await handler(new Request('http://app.test/ops/api/schedules/hourly%2Fecho/pause', { headers: { 'x-user': 'writer' } }))
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('refuses a schedule command without write access (403 FORBIDDEN), changing nothing', async () => {
    const before = await snapshot()
    for (const command of ['pause', 'resume', 'trigger']) {
      const res = await post('hourly/echo', command, { ...good(), 'x-user': 'reader' })
      expect(res, command).toEqual({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/write access/) } } })
    }
    expect((await post('hourly/echo', 'pause', { ...good(), 'x-user': '' })).status).toBe(403)
    expect(await snapshot()).toEqual(before)
  })

  it('refuses a schedule command without the CSRF token, or with a wrong one (403 CSRF), changing nothing', async () => {
    const before = await snapshot()
    const { 'x-csrf-token': _token, ...noToken } = good()
    const { cookie: _cookie, ...noCookie } = good()
    for (const command of ['pause', 'resume', 'trigger']) {
      expect((await post('hourly/echo', command, noToken)).body.error.code, command).toBe('CSRF')
      expect((await post('hourly/echo', command, noCookie)).body.error.code, command).toBe('CSRF')
      expect((await post('hourly/echo', command, { ...good(), 'x-csrf-token': 'x'.repeat(43) })).status, command).toBe(403)
    }
    expect(await post('hourly/echo', 'pause', { ...good(), origin: 'https://evil.example' })).toMatchObject({
      status: 403,
      body: { error: { code: 'CROSS_ORIGIN' } },
    })
    expect(await snapshot()).toEqual(before)
  })

  it('answers 404 ERR_SCHEDULE_NOT_FOUND naming an unknown schedule id, and writes nothing', async () => {
    const before = await snapshot()
    for (const command of ['pause', 'resume', 'trigger']) {
      const res = await post('no-such-schedule', command)
      expect(res, command).toEqual({
        status: 404,
        body: { error: { code: 'ERR_SCHEDULE_NOT_FOUND', message: expect.stringContaining('Schedule "no-such-schedule" not found') } },
      })
    }
    expect(await snapshot()).toEqual(before)
    expect(await engine.schedules.get('no-such-schedule').catch((e) => e.code)).toBe('ERR_SCHEDULE_NOT_FOUND')
    // An unknown command is no route.
    expect((await post('hourly/echo', 'delete')).status).toBe(404)
  })

  it('answers 501 SCHEDULES_UNSUPPORTED for an engine without schedules, naming what it lacks', async () => {
    const bare = dashboard({
      engine: Object.assign(Object.create(engine), { schedules: undefined }),
      basePath: '/ops',
      auth: () => ({ read: true, write: true }),
    })
    const { cookie, token } = session
    for (const command of ['pause', 'resume', 'trigger']) {
      const res = await bare(
        new Request(`http://app.test/ops/api/schedules/hourly%2Fecho/${command}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': token },
          body: '{}',
        }),
      )
      expect(res.status, command).toBe(501)
      expect((await jsonOf(res)).error, command).toEqual({
        code: 'SCHEDULES_UNSUPPORTED',
        message: `This engine has no engine.schedules.${command}(): it cannot ${command} schedules (nothing was changed).`,
      })
    }
  })
})
