// Schedule changes as a table: a record, the time and the last run's state in; the new record, the
// run to start and the tick entry's moves out. No engine, no store, no clock.
import { describe, expect, it } from 'vitest'
import { tickTimes } from './cron.js'
import { reserveStart } from './flow-control.js'
import { keys } from './keys.js'
import type { ScheduleRecord } from './records.js'
import { scheduleCreated, schedulePaused, scheduleResumed, tickFired } from './schedule-transitions.js'

const H = 3_600_000
const T0 = Date.UTC(2030, 0, 1)
const ctx = (now: number) => ({ now, graceMs: 60_000, recheckMs: 1_000 })
const hourly = (over: Partial<ScheduleRecord> = {}) => {
  const fields = {
    id: 's',
    workflowId: 'wf',
    cron: '0 * * * *',
    overlap: 'skip' as const,
    catchup: 'latest' as const,
    paused: false,
    ...over,
  }
  return scheduleCreated(fields, tickTimes(fields), ctx(T0)).record
}
const times = tickTimes({ cron: '0 * * * *' })
const shape = (c: { put: { key: string }[]; drop: { key: string }[] }) => ({ put: c.put.map((o) => o.key), drop: c.drop.map((o) => o.key) })

describe('schedule transitions', () => {
  const cases: {
    name: string
    run: () => ReturnType<typeof tickFired>
    start?: number
    skipped?: unknown[]
    record: Partial<ScheduleRecord>
    put: string[]
    drop: string[]
  }[] = [
    {
      name: 'on time, last run finished: starts the tick, the entry moves to the next tick',
      run: () => tickFired(hourly(), times, ctx(T0 + H + 5), false),
      start: T0 + H,
      record: { nextAt: T0 + 2 * H, lastTickAt: T0 + H },
      put: [keys.tick(T0 + 2 * H, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
    {
      name: 'skip: a tick while the last run is busy starts nothing',
      run: () => tickFired(hourly(), times, ctx(T0 + H), true),
      skipped: [{ tickAt: T0 + H, reason: 'overlap' }],
      record: { nextAt: T0 + 2 * H },
      put: [keys.tick(T0 + 2 * H, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
    {
      name: 'buffer-one: the tick is kept, and the entry comes back soon to look at the last run',
      run: () => tickFired(hourly({ overlap: 'buffer-one' }), times, ctx(T0 + H), true),
      record: { nextAt: T0 + 2 * H, buffered: T0 + H },
      put: [keys.tick(T0 + H + 1_000, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
    {
      name: 'buffer-one: once the last run finished, the buffered tick starts',
      run: () =>
        tickFired(
          { ...hourly({ overlap: 'buffer-one' }), nextAt: T0 + 2 * H, buffered: T0 + H, tickKey: keys.tick(T0 + H + 1_000, 's') },
          times,
          ctx(T0 + H + 1_000),
          false,
        ),
      start: T0 + H,
      record: { buffered: undefined, nextAt: T0 + 2 * H },
      put: [keys.tick(T0 + 2 * H, 's')],
      drop: [keys.tick(T0 + H + 1_000, 's')],
    },
    {
      name: 'allow: starts even while the last run is busy',
      run: () => tickFired(hourly({ overlap: 'allow' }), times, ctx(T0 + H), true),
      start: T0 + H,
      record: { nextAt: T0 + 2 * H },
      put: [keys.tick(T0 + 2 * H, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
    {
      name: 'catchup latest after 5 h down: one run for the latest tick, the next after now',
      run: () => tickFired(hourly(), times, ctx(T0 + 5.5 * H), false),
      start: T0 + 5 * H,
      skipped: [{ tickAt: T0 + H, reason: 'catchup' }],
      record: { nextAt: T0 + 6 * H },
      put: [keys.tick(T0 + 6 * H, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
    {
      name: 'catchup none after 5 h down: nothing starts',
      run: () => tickFired(hourly({ catchup: 'none' }), times, ctx(T0 + 5.5 * H), false),
      skipped: [
        { tickAt: T0 + H, reason: 'catchup' },
        { tickAt: T0 + 5 * H, reason: 'catchup' },
      ],
      record: { nextAt: T0 + 6 * H },
      put: [keys.tick(T0 + 6 * H, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
    {
      name: 'catchup all after 5 h down: the oldest missed tick starts, the entry moves to the next missed one',
      run: () => tickFired(hourly({ catchup: 'all' }), times, ctx(T0 + 5.5 * H), false),
      start: T0 + H,
      record: { nextAt: T0 + 2 * H },
      put: [keys.tick(T0 + 2 * H, 's')],
      drop: [keys.tick(T0 + H, 's')],
    },
  ]
  for (const c of cases)
    it(c.name, () => {
      const out = c.run()
      expect(out.start).toBe(c.start)
      expect(out.skipped).toEqual(c.skipped ?? [])
      for (const [k, v] of Object.entries(c.record)) expect({ [k]: out.record[k as keyof ScheduleRecord] }).toEqual({ [k]: v })
      expect(shape(out)).toEqual({ put: c.put, drop: c.drop })
    })

  it('paused: no tick entry; resumed: the first tick after now', () => {
    const p = schedulePaused(hourly(), ctx(T0 + 10))
    expect(shape(p)).toEqual({ put: [], drop: [keys.tick(T0 + H, 's')] })
    const r = scheduleResumed(p.record, times, ctx(T0 + 3.5 * H))
    expect(r.record).toMatchObject({ paused: false, nextAt: T0 + 4 * H })
    expect(shape(r)).toEqual({ put: [keys.tick(T0 + 4 * H, 's')], drop: [] })
  })
})

describe('reserveStart (rate limit and throttle)', () => {
  it('at most limit start times in any window of period, in order', () => {
    let log: number[] = []
    const at: number[] = []
    for (const now of [0, 0, 0, 10, 10, 70]) {
      const r = reserveStart(log, now, 2, 60)
      at.push(r.at)
      log = r.log
    }
    expect(at).toEqual([0, 0, 60, 60, 120, 120])
    expect(log).toEqual([120, 120])
  })
})
