// `do-sdk schedules …` against a SQLite file: the test's engine (never started) creates the
// schedules, each command runs as its own process on the same file, and a worker process executes
// the run that `schedules trigger` starts.
import { join } from 'node:path'
import type { Engine, ScheduleInfo } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, cli, client, json, startWorker, tempDir, type Worker, waitStatus } from './helpers.js'

let store: string
let engine: Engine
let worker: Worker | undefined
const ds = { close: async () => {} }

beforeAll(async () => {
  const dir = tempDir()
  store = `sqlite:${join(dir, 'do.db')}`
  const sqlite = sqliteStore({ path: join(dir, 'do.db') })
  ds.close = async () => sqlite.close?.()
  engine = client(sqlite)
  const { greet, nap } = await import('./fixtures/v1.js')
  await engine.schedules.create({ id: 'hourly-greet', workflow: greet, every: '1h', input: { name: 'Sched' } })
  await engine.schedules.create({ id: 'nightly-nap', workflow: nap, cron: '30 2 * * *', timezone: 'Europe/Berlin', paused: true })
}, 60_000)

afterAll(async () => {
  await worker?.stop()
  await ds.close()
  await cleanup()
})

describe('reading schedules', () => {
  it('schedules list prints a table of the schedules by id, with state and next tick, and --json prints one document', async () => {
    const r = await cli(['schedules', 'list', '--store', store])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^SCHEDULE\s+WORKFLOW\s+WHEN\s+STATE\s+NEXT TICK\s+LAST RUN$/)
    const hourly = await engine.schedules.get('hourly-greet')
    expect(lines[1]).toMatch(
      new RegExp(
        `^hourly-greet\\s+greet\\s+every 1h00m\\s+active\\s+${new Date(hourly.nextRunAt as number).toISOString().slice(0, 19)}Z\\s+-$`,
      ),
    )
    expect(lines[2]).toMatch(/^nightly-nap\s+nap\s+30 2 \* \* \* \(Europe\/Berlin\)\s+paused\s+-\s+-$/)
    expect(lines.at(-1)).toBe('2 schedules')

    const doc = json<{ schedules: ScheduleInfo[]; nextCursor?: string }>(await cli(['schedules', 'list', '--store', store, '--json']))
    expect(doc.schedules.map((s) => [s.id, s.workflowId, s.paused])).toEqual([
      ['hourly-greet', 'greet', false],
      ['nightly-nap', 'nap', true],
    ])
    const page = json<{ schedules: ScheduleInfo[]; nextCursor?: string }>(
      await cli(['schedules', 'list', '--store', store, '--json', '--limit', '1']),
    )
    expect(page).toEqual({ schedules: [expect.objectContaining({ id: 'hourly-greet' })], nextCursor: 'hourly-greet' })
    const rest = json<{ schedules: ScheduleInfo[]; nextCursor?: string }>(
      await cli(['schedules', 'list', '--store', store, '--json', '--cursor', page.nextCursor as string]),
    )
    expect(rest.schedules.map((s) => s.id)).toEqual(['nightly-nap'])
    expect(rest.nextCursor).toBeUndefined()
    const byWorkflow = json<{ schedules: ScheduleInfo[] }>(
      await cli(['schedules', 'list', '--store', store, '--json', '--workflow', 'nap']),
    )
    expect(byWorkflow.schedules.map((s) => s.id)).toEqual(['nightly-nap'])
  })

  it('schedules show prints one schedule, and exits 1 for an unknown id', async () => {
    const r = await cli(['schedules', 'show', 'nightly-nap', '--store', store])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Schedule\s+nightly-nap$/m)
    expect(r.stdout).toMatch(/^Workflow\s+nap$/m)
    expect(r.stdout).toMatch(/^When\s+30 2 \* \* \* \(Europe\/Berlin\)$/m)
    expect(r.stdout).toMatch(/^State\s+paused \(no tick until resumed\)$/m)
    expect(r.stdout).toMatch(/^Next tick\s+-$/m)
    expect(r.stdout).toMatch(/^Overlap\s+skip$/m)
    expect(r.stdout).toMatch(/^Catch-up\s+latest$/m)
    const doc = json<ScheduleInfo>(await cli(['schedules', 'show', 'hourly-greet', '--store', store, '--json']))
    expect(doc).toMatchObject({
      id: 'hourly-greet',
      every: 3_600_000,
      input: { name: 'Sched' },
      paused: false,
      nextRunAt: expect.any(Number),
    })
    const unknown = await cli(['schedules', 'show', 'nope', '--store', store])
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: 'do-sdk: Schedule "nope" not found\n' })
  })
})

describe('changing schedules', () => {
  it('schedules pause pauses a schedule (no next tick) and schedules resume gives it the first tick after now', async () => {
    const paused = await cli(['schedules', 'pause', 'hourly-greet', '--store', store])
    expect(paused).toMatchObject({ code: 0, stdout: 'Paused schedule hourly-greet: no tick until it is resumed.\n' })
    const after = await engine.schedules.get('hourly-greet')
    expect(after.paused).toBe(true)
    expect(after.nextRunAt).toBeUndefined()
    expect((await cli(['schedules', 'list', '--store', store])).stdout).toMatch(/^hourly-greet\s+greet\s+every 1h00m\s+paused\s+-\s+-$/m)

    const before = Date.now()
    const resumed = await cli(['schedules', 'resume', 'hourly-greet', '--store', store, '--json'])
    expect(resumed.code).toBe(0)
    const doc = json<ScheduleInfo>(resumed)
    expect(doc).toMatchObject({ id: 'hourly-greet', paused: false })
    expect(doc.nextRunAt).toBeGreaterThan(before)
    expect((await engine.schedules.get('hourly-greet')).paused).toBe(false)
    const human = await cli(['schedules', 'resume', 'nightly-nap', '--store', store])
    const next = (await engine.schedules.get('nightly-nap')).nextRunAt as number
    expect(human).toMatchObject({
      code: 0,
      stdout: `Resumed schedule nightly-nap: next tick ${new Date(next).toISOString().slice(0, 19)}Z.\n`,
    })
  })

  it('schedules pause, resume and trigger of an unknown schedule exit 1 saying so, and change nothing', async () => {
    const before = await engine.schedules.list()
    for (const command of ['pause', 'resume']) {
      const r = await cli(['schedules', command, 'nope', '--store', store])
      expect(r, command).toMatchObject({ code: 1, stdout: '', stderr: 'do-sdk: Schedule "nope" not found\n' })
    }
    const trigger = await cli(['schedules', 'trigger', 'nope', '--workflows', './v1.js', '--store', store])
    expect(trigger).toMatchObject({ code: 1, stderr: 'do-sdk: Schedule "nope" not found\n' })
    expect(await engine.schedules.list()).toEqual(before)
    expect(await engine.countRuns({})).toBe(0)
  })

  it("schedules trigger starts one run now with the schedule's input, which a worker completes", async () => {
    worker = await startWorker(store)
    const r = await cli(['schedules', 'trigger', 'hourly-greet', '--workflows', './v1.js', '--store', store])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const runId =
      /^Schedule hourly-greet started run (hourly-greet@manual-\S+) \(\w+; an engine running workflow "greet" picks it up\)\.\n$/.exec(
        r.stdout,
      )?.[1] as string
    expect(runId, r.stdout).toBeDefined()
    const done = await waitStatus(engine, runId, 'completed')
    expect(done.output).toEqual({ message: 'hello Sched' })
    expect((await engine.schedules.get('hourly-greet')).lastRunId).toBe(runId)
  })

  it('schedules trigger needs the workflow in --workflows: exit 1 naming it when no module exports it, and nothing started', async () => {
    const runs = await engine.countRuns({})
    const r = await cli(['schedules', 'trigger', 'nightly-nap', '--workflows', './only-greet.mjs', '--store', store])
    expect(r).toMatchObject({
      code: 1,
      stderr:
        'do-sdk: Schedule nightly-nap starts workflow "nap", which no --workflows module exports (they export: greet); nothing was started.\n',
    })
    expect(await engine.countRuns({})).toBe(runs)
    const usage = await cli(['schedules', 'trigger', 'nightly-nap', '--store', store])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^do-sdk: schedules trigger needs --workflows <module>: the run is created on today's definition/)
  })
})
