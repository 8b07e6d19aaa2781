// The app's schedules and flow control on a SQLite file and the test engine's virtual clock:
// `advance` steps through each stored tick and held-back run at its own time, so a day or a
// season change takes milliseconds and every time asserted is exact.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestEngine, type TestEngine } from '@do-sdk/core/testing'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { scheduleTenant, syncScheduleId, unscheduleTenant } from '../src/tenants.js'
import { exportReport, reindexProfile, workflows } from '../src/workflows.js'

const engines: TestEngine[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A test engine on a fresh SQLite file, its virtual clock at `now`; `before` runs before `start()`. */
const setup = async (now: string, before?: (engine: TestEngine) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-example-schedules-'))
  dirs.push(dir)
  const engine = createTestEngine({ store: sqliteStore({ path: join(dir, 'app.db') }), workflows, now: Date.parse(now) })
  engines.push(engine)
  before?.(engine)
  await engine.start()
  return engine
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

/** A workflow's runs, oldest first: the tick each was for, when it was created, and its status. */
const scheduledRuns = async (engine: TestEngine, workflowId: string) => {
  const { runs } = await engine.listRuns({ workflowId, limit: 100 })
  return runs.reverse().map((r) => ({ tick: iso(r.schedule?.tickAt), createdAt: iso(r.createdAt), status: r.status, input: r.input }))
}

describe('the daily digest (declarative schedule, Europe/Berlin)', () => {
  it('runs every day at 08:00 in Berlin, across the change to summer time', async () => {
    const engine = await setup('2030-03-29T12:00:00Z')
    expect((await engine.schedules.get('workflow:daily-digest')).nextRunAt).toBe(Date.parse('2030-03-30T07:00:00Z'))

    await engine.advance('3d')

    // 08:00 CET is 07:00 UTC; from Sunday 31 March, 08:00 CEST is 06:00 UTC.
    const runs = await scheduledRuns(engine, 'daily-digest')
    expect(runs.map((r) => r.tick)).toEqual(['2030-03-30T07:00:00.000Z', '2030-03-31T06:00:00.000Z', '2030-04-01T06:00:00.000Z'])
    // Each run was made at its tick, and finished.
    for (const r of runs) expect(r).toMatchObject({ createdAt: r.tick, status: 'completed' })
    expect(iso((await engine.schedules.get('workflow:daily-digest')).nextRunAt)).toBe('2030-04-02T06:00:00.000Z')
  })
})

describe('tenant syncs (a dynamic schedule per tenant, in its time zone)', () => {
  it('each tenant syncs at 02:00 in its own zone, until it leaves', async () => {
    const engine = await setup('2030-06-01T12:00:00Z')
    const acme = await scheduleTenant(engine, { id: 'acme', timezone: 'Europe/Berlin' })
    await scheduleTenant(engine, { id: 'globex', timezone: 'America/New_York' })
    // Idempotent: at the next boot the same call returns the schedule as it is.
    expect(await scheduleTenant(engine, { id: 'acme', timezone: 'Europe/Berlin' })).toEqual(acme)
    expect(iso(acme.nextRunAt)).toBe('2030-06-02T00:00:00.000Z') // 02:00 CEST

    await engine.advance('2d')

    const ticks = async () =>
      (await scheduledRuns(engine, 'tenant-sync')).map((r) => `${(r.input as { tenantId: string }).tenantId} ${r.tick} ${r.status}`)
    expect(await ticks()).toEqual([
      'acme 2030-06-02T00:00:00.000Z completed',
      'globex 2030-06-02T06:00:00.000Z completed', // 02:00 EDT
      'acme 2030-06-03T00:00:00.000Z completed',
      'globex 2030-06-03T06:00:00.000Z completed',
    ])

    // Acme leaves; Globex moves to Tokyo (02:00 JST is 17:00 UTC the day before).
    expect(await unscheduleTenant(engine, 'acme')).toBe(true)
    const moved = await scheduleTenant(engine, { id: 'globex', timezone: 'Asia/Tokyo' })
    expect(iso(moved.nextRunAt)).toBe('2030-06-03T17:00:00.000Z')
    await engine.advance('1d')
    expect((await ticks()).slice(4)).toEqual(['globex 2030-06-03T17:00:00.000Z completed'])
    await expect(engine.schedules.get(syncScheduleId('acme'))).rejects.toThrow(/acme/)
  })
})

describe('exports (one at a time per user)', () => {
  it('a second export of the same user waits until the first is done; other users do not wait', async () => {
    // Each export's step is held until the test lets it go, as a slow reporting API would hold it.
    const gates = new Map<string, { promise: Promise<void>; open: () => void }>()
    const gate = (runId: string) => {
      let g = gates.get(runId)
      if (!g) {
        let open = () => {}
        const promise = new Promise<void>((resolve) => {
          open = resolve
        })
        g = { promise, open }
        gates.set(runId, g)
      }
      return g
    }
    const delayed: string[] = []
    const engine = await setup('2030-01-07T09:00:00Z', (e) => {
      e.hooks.wrap('step', async (ctx, next) => {
        if (ctx.workflowId === 'export-report') await gate(ctx.runId).promise
        return next()
      })
      e.hooks.on('flow:delayed', (ev) => {
        delayed.push(`${ev.runId} ${ev.reason} ${ev.key}`)
      })
    })
    const ada1 = await engine.trigger(exportReport, { userId: 'ada', report: 'q1' }, { id: 'export:ada:q1' })
    const ada2 = await engine.trigger(exportReport, { userId: 'ada', report: 'q2' }, { id: 'export:ada:q2' })
    const bob1 = await engine.trigger(exportReport, { userId: 'bob', report: 'q1' }, { id: 'export:bob:q1' })

    await engine.tick() // one pass over what is due: it starts what it may
    expect((await engine.getRun(ada1.id)).status).toBe('running')
    expect((await engine.getRun(bob1.id)).status).toBe('running')
    const waiting = await engine.getRun(ada2.id)
    expect(waiting.status).toBe('pending')
    expect(waiting.pendingReason).toMatchObject({ kind: 'concurrency', key: 'ada', limit: 1 })
    expect(delayed).toEqual(['export:ada:q2 concurrency ada'])

    // The first exports finish; Ada's second one starts as soon as her first lets its slot go.
    const before = engine.clock.now()
    gate(ada1.id).open()
    gate(bob1.id).open()
    gate(ada2.id).open()
    await engine.settle()
    expect(engine.clock.now()).toBe(before)
    const [first, second] = [await engine.getRun(ada1.id), await engine.getRun(ada2.id)]
    expect(first.status).toBe('completed')
    expect(second.status).toBe('completed')
    expect(second.steps[0]?.startedAt).toBeGreaterThanOrEqual(first.finishedAt as number)
    expect(second.output).toEqual({ url: 'https://files.example.com/ada/q2.pdf' })
  })
})

describe('profile reindex (debounced per user)', () => {
  it('edits in a row make one reindex, with the last edit, 30 s after it', async () => {
    const engine = await setup('2030-01-07T09:00:00Z')
    const t0 = engine.clock.now()
    const first = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'Ada' })
    await engine.advance('10s')
    const second = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'Ada L.' })
    await engine.advance('10s')
    const third = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'Ada Lovelace' })
    const other = await engine.trigger(reindexProfile, { userId: 'bob', displayName: 'Bob' })

    expect(second.id).toBe(first.id)
    expect(third.id).toBe(first.id)
    expect(other.id).not.toBe(first.id)
    const held = await engine.getRun(first.id)
    expect(held.status).toBe('pending')
    expect(held.pendingReason).toEqual({ kind: 'debounce', key: 'ada', until: t0 + 50_000 })

    await engine.advance(29_999)
    expect((await engine.getRun(first.id)).status).toBe('pending')
    await engine.advance(1)
    const done = await engine.getRun(first.id)
    expect(done.status).toBe('completed')
    expect(done.output).toEqual({ userId: 'ada', displayName: 'Ada Lovelace' })
    expect(done.finishedAt).toBe(t0 + 50_000)
    expect((await engine.listRuns({ workflowId: 'reindex-profile' })).runs).toHaveLength(2)
  })

  it('a user who never stops typing gets a reindex 5 minutes after the first edit', async () => {
    const engine = await setup('2030-01-07T09:00:00Z')
    const t0 = engine.clock.now()
    const first = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'edit 0' })
    for (let k = 1; k <= 15; k++) {
      await engine.advance('20s')
      await engine.trigger(reindexProfile, { userId: 'ada', displayName: `edit ${k}` })
    }
    // The 15th edit came at t0 + 5 min: the debounced run started then, with the input it had.
    const run = await engine.getRun(first.id)
    expect(run.status).toBe('completed')
    expect(run.finishedAt).toBe(t0 + 300_000)
    expect(run.output).toEqual({ userId: 'ada', displayName: 'edit 14' })
    const { runs } = await engine.listRuns({ workflowId: 'reindex-profile' })
    expect(runs).toHaveLength(2)
  })
})
