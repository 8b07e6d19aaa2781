// Durable schedules on the suite's store: the virtual clock drives them (a year of a daily schedule
// in one test), DST in two time zones, overlap and catchup, the API, and two engines sharing ticks.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { virtualClock } from '../../src/engine/clock.js'
import { ConflictError, ScheduleNotFoundError, workflow } from '../../src/index.js'
import { newStore, testEngine } from './fixtures.js'

const _DAY = 86_400_000
const iso = (t: number) => new Date(t).toISOString()

const counter = () => {
  const runs: { at: number; input: unknown }[] = []
  const wf = workflow.create({
    id: 'ticked',
    input: z.object({ n: z.number() }).optional(),
    async run({ input, step }) {
      runs.push({ at: await step.now(), input })
      return 'ok'
    },
  })
  return { runs, wf }
}

describe('schedules', () => {
  it('a declarative daily schedule runs 365 times in a year of virtual time, each at its tick', async () => {
    const runs: number[] = []
    const daily = workflow.create({
      id: 'daily',
      schedule: { cron: '0 9 * * *', timezone: 'UTC' },
      async run({ step }) {
        runs.push(await step.now())
      },
    })
    const clock = virtualClock(Date.UTC(2030, 0, 1))
    const engine = testEngine({ workflows: [daily], clock, retention: '1h' })
    await engine.start()
    expect(await engine.schedules.get('workflow:daily')).toMatchObject({ declarative: true, nextRunAt: Date.UTC(2030, 0, 1, 9) })
    await engine.advance('365d')
    expect(runs).toHaveLength(365)
    expect(runs.every((t, i) => t === Date.UTC(2030, 0, 1 + i, 9))).toBe(true)
    await engine.stop()
  }, 120_000)

  it('Europe/Berlin and America/New_York: a daily 02:30 runs once a day across both DST changes, at 03:00 in the gap', async () => {
    const at: Record<string, string[]> = {}
    const mk = (id: string) =>
      workflow.create({
        id,
        async run({ step }) {
          ;(at[id] ??= []).push(iso(await step.now()))
        },
      })
    const berlin = mk('berlin')
    const ny = mk('ny')
    const clock = virtualClock(Date.UTC(2030, 2, 8))
    const engine = testEngine({ workflows: [berlin, ny], clock, retention: '1h' })
    await engine.start()
    await engine.schedules.create({ id: 'b', workflow: berlin, cron: '30 2 * * *', timezone: 'Europe/Berlin' })
    await engine.schedules.create({ id: 'n', workflow: ny, cron: '30 2 * * *', timezone: 'America/New_York' })
    // Spring: New York on 2030-03-10, Berlin on 2030-03-31 (02:30 does not exist: the run is at 03:00 local).
    await engine.advance('3d')
    expect(at.ny).toEqual(['2030-03-08T07:30:00.000Z', '2030-03-09T07:30:00.000Z', '2030-03-10T07:00:00.000Z'])
    clock.set(Date.UTC(2030, 2, 29, 12))
    await engine.settle()
    at.berlin = []
    await engine.advance('3d')
    expect(at.berlin).toEqual(['2030-03-30T01:30:00.000Z', '2030-03-31T01:00:00.000Z', '2030-04-01T00:30:00.000Z'])
    // Autumn: Berlin on 2030-10-27, New York on 2030-11-03 (02:30 Berlin and 01:30 New York happen twice: one run each).
    await engine.schedules.update('n', { cron: '30 1 * * *' })
    clock.set(Date.UTC(2030, 9, 26, 12))
    await engine.settle()
    at.berlin = []
    await engine.advance('2d')
    expect(at.berlin).toEqual(['2030-10-27T00:30:00.000Z', '2030-10-28T01:30:00.000Z'])
    clock.set(Date.UTC(2030, 10, 2, 12))
    await engine.settle()
    at.ny = []
    await engine.advance('2d')
    expect(at.ny).toEqual(['2030-11-03T05:30:00.000Z', '2030-11-04T06:30:00.000Z'])
    await engine.stop()
  }, 60_000)

  it('create, get, list, pause, resume, update, trigger and delete', async () => {
    const { runs, wf } = counter()
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const t0 = engine.clock.now()
    const s = await engine.schedules.create({ id: 'every-hour', workflow: wf, every: '1h', input: { n: 1 } })
    expect(s).toMatchObject({ id: 'every-hour', workflowId: 'ticked', every: 3_600_000, nextRunAt: t0 + 3_600_000, paused: false })
    // The same options again: idempotent; other options: a ConflictError.
    await expect(engine.schedules.create({ id: 'every-hour', workflow: wf, every: '1h', input: { n: 1 } })).resolves.toMatchObject({
      id: 'every-hour',
    })
    await expect(engine.schedules.create({ id: 'every-hour', workflow: wf, every: '2h' })).rejects.toBeInstanceOf(ConflictError)
    await engine.advance('3h')
    expect(runs.map((r) => r.at - t0)).toEqual([1, 2, 3].map((h) => h * 3_600_000))
    expect((await engine.getRun(`every-hour@${iso(t0 + 3_600_000)}`)).schedule).toEqual({ id: 'every-hour', tickAt: t0 + 3_600_000 })
    await engine.schedules.pause('every-hour')
    expect((await engine.schedules.get('every-hour')).nextRunAt).toBeUndefined()
    await engine.advance('5h')
    expect(runs).toHaveLength(3)
    await engine.schedules.resume('every-hour')
    await engine.advance('1h')
    expect(runs).toHaveLength(4)
    await engine.schedules.update('every-hour', { input: { n: 2 } })
    const handle = await engine.schedules.trigger('every-hour')
    await expect(handle.result()).resolves.toBe('ok')
    expect(runs[4]?.input).toEqual({ n: 2 })
    expect((await engine.schedules.get('every-hour')).lastRunId).toBe(handle.id)
    expect((await engine.schedules.list()).schedules.map((x) => x.id)).toEqual(['every-hour'])
    await expect(engine.schedules.delete('every-hour')).resolves.toBe(true)
    await expect(engine.schedules.get('every-hour')).rejects.toBeInstanceOf(ScheduleNotFoundError)
    await engine.advance('3h')
    expect(runs).toHaveLength(5)
    await engine.stop()
  })

  it('overlap skip, buffer-one and allow look at the last run', async () => {
    const gates: (() => void)[] = []
    const slow = workflow.create({
      id: 'slow',
      async run({ step }) {
        await step.sleep('150m')
        return 'done'
      },
    })
    const engine = testEngine({ workflows: [slow] })
    const ticks: string[] = []
    engine.hooks.on('schedule:tick', (e) => {
      ticks.push(`${e.scheduleId} ${e.runId ? 'run' : (e.skipped ?? 'buffered')}`)
    })
    await engine.start()
    for (const overlap of ['skip', 'buffer-one', 'allow'] as const)
      await engine.schedules.create({ id: overlap, workflow: slow, every: '1h', overlap })
    await engine.advance('4h')
    const started = async (id: string) => (await engine.listRuns({ idPrefix: `${id}@`, limit: 100 })).runs.length
    // Ticks at 1h, 2h, 3h, 4h; each run lasts 2.5h.
    expect(await started('skip')).toBe(2) // 1h, (2h, 3h skipped), 4h
    expect(await started('allow')).toBe(4)
    expect(await started('buffer-one')).toBe(2) // 1h, then the 2h tick kept and started at 3.5h (3h and 4h dropped)
    // The kept tick starts when the run it waited for ends, not at its next look.
    const t0 = Date.UTC(2030, 0, 1)
    const kept = await engine.getRun(`buffer-one@${iso(t0 + 2 * 3_600_000)}`)
    const first = await engine.getRun(`buffer-one@${iso(t0 + 3_600_000)}`)
    expect(first.finishedAt).toBe(t0 + 3.5 * 3_600_000)
    expect(kept.createdAt).toBe(first.finishedAt)
    expect(ticks.filter((t) => t.startsWith('buffer-one')).slice(0, 3)).toEqual([
      'buffer-one run',
      'buffer-one buffered',
      'buffer-one overlap',
    ])
    expect(gates).toEqual([])
    await engine.stop()
  })

  it('a tick kept behind a run (buffer-one) starts when that run is cancelled while it waits', async () => {
    const waiting = workflow.create({
      id: 'waiting',
      async run({ step }) {
        await step.waitForEvent('go')
        return 'done'
      },
    })
    const engine = testEngine({ workflows: [waiting] })
    await engine.start()
    const t0 = engine.clock.now()
    await engine.schedules.create({ id: 'kept', workflow: waiting, every: '1h', overlap: 'buffer-one' })
    await engine.advance('2h')
    const first = `kept@${iso(t0 + 3_600_000)}`
    expect((await engine.schedules.get('kept')).bufferedTickAt).toBe(t0 + 2 * 3_600_000)
    await engine.advance('10m')
    expect(await engine.cancel(first)).toBe('cancelled')
    await engine.settle()
    const kept = await engine.getRun(`kept@${iso(t0 + 2 * 3_600_000)}`)
    expect(kept.createdAt).toBe(engine.clock.now())
    expect(kept.status).toBe('waiting')
    await engine.stop()
  })

  it('catchup after downtime: none, latest (one run for the latest tick), all (one per missed tick)', async () => {
    const { wf } = counter()
    const clock = virtualClock(Date.UTC(2030, 0, 1))
    const store = newStore(clock)
    const first = testEngine({ workflows: [wf], clock, store })
    await first.start()
    for (const catchup of ['none', 'latest', 'all'] as const)
      await first.schedules.create({ id: catchup, workflow: wf, cron: '0 * * * *', catchup, overlap: 'allow' })
    await first.stop()
    clock.set(Date.UTC(2030, 0, 1, 5, 30)) // down for 5 ticks
    const second = testEngine({ workflows: [wf], clock, store })
    await second.start()
    await second.settle()
    const ids = async (id: string) => (await second.listRuns({ idPrefix: `${id}@`, limit: 100 })).runs.map((r) => r.id).sort()
    expect(await ids('none')).toEqual([])
    expect(await ids('latest')).toEqual([`latest@${iso(Date.UTC(2030, 0, 1, 5))}`])
    expect(await ids('all')).toHaveLength(5)
    expect((await second.schedules.get('none')).nextRunAt).toBe(Date.UTC(2030, 0, 1, 6))
    await second.stop()
  })

  it('two engines on one store start one run per tick', async () => {
    const { runs, wf } = counter()
    const clock = virtualClock(Date.UTC(2030, 0, 1))
    const store = newStore(clock)
    const a = testEngine({ workflows: [wf], clock, store, engineId: 'a', multiProcess: store.capabilities.multiProcess })
    if (!store.capabilities.multiProcess) return
    const b = testEngine({ workflows: [wf], clock, store, engineId: 'b', multiProcess: true })
    await a.start()
    await b.start()
    await a.schedules.create({ id: 'shared', workflow: wf, every: '1m' })
    for (let i = 0; i < 30; i++) {
      clock.advance(60_000)
      await Promise.all([a.tick(), b.tick()])
      await Promise.all([a.settle(), b.settle()])
    }
    expect(runs).toHaveLength(30)
    expect(new Set(runs.map((r) => r.at)).size).toBe(30)
    await a.stop()
    await b.stop()
  })
})
