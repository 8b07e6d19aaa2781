import type { WriteOp } from '../datastore/types.js'
import type { TickTimes } from './cron.js'
import { keys } from './keys.js'
import type { ScheduleRecord } from './records.js'

/**
 * Every change of a schedule record, as pure functions (like `transitions.ts` for runs): a record,
 * the time and the schedule's tick times in, the new record and its ops out. A schedule has at
 * most one tick entry (`tick/{time}/{id}`), at its next tick, or earlier while a tick is buffered
 * (to look at the last run again). The ops apply in one batch: new tick entry, [the run the tick
 * starts], the record (conditional on its version), the old tick entry's deletion.
 */
export interface ScheduleChange {
  record: ScheduleRecord
  put: WriteOp[]
  drop: WriteOp[]
}

/** What a tick did: start a run for `start` (a tick time), and the ticks let go without one. */
export interface TickOutcome extends ScheduleChange {
  start?: number
  skipped: { tickAt: number; reason: 'overlap' | 'catchup' }[]
}

/** Times a tick decision needs. */
export interface TickContext {
  now: number
  /** A tick at most this late still starts a run under `catchup: 'none'` (a poll's delay is no downtime). */
  graceMs: number
  /** How soon a buffered tick looks at the last run again (the run's end wakes it sooner). */
  recheckMs: number
}

/** Points the record at its one tick entry (or none), writing the new one and dropping the old and a stray one found. */
const retick = (before: ScheduleRecord | undefined, next: ScheduleRecord, at: number | undefined, found?: string): ScheduleChange => {
  const put: WriteOp[] = []
  const drop: WriteOp[] = []
  const key = at === undefined ? undefined : keys.tick(at, next.id)
  if (key !== undefined && key !== before?.tickKey) put.push({ op: 'set', key, value: '' })
  for (const old of [before?.tickKey, found])
    if (old !== undefined && old !== key && !drop.some((d) => d.key === old)) drop.push({ op: 'delete', key: old })
  if (key === undefined) delete next.tickKey
  else next.tickKey = key
  return { record: next, put, drop }
}

/** Where the tick entry goes: the next tick, or sooner to look at a buffered tick again. */
const entryAt = (r: ScheduleRecord, ctx: TickContext): number | undefined => {
  if (r.paused) return undefined
  const recheck = r.buffered !== undefined ? ctx.now + ctx.recheckMs : undefined
  if (r.nextAt === undefined) return recheck
  return recheck === undefined ? r.nextAt : Math.min(r.nextAt, recheck)
}

/** A new schedule: its first tick is the first after now. */
export const scheduleCreated = (fields: Omit<ScheduleRecord, 'f' | 'createdAt' | 'updatedAt'>, times: TickTimes, ctx: TickContext) => {
  const record: ScheduleRecord = { f: 1, ...fields, createdAt: ctx.now, updatedAt: ctx.now }
  const nextAt = times.next(ctx.now)
  if (nextAt === undefined) delete record.nextAt
  else record.nextAt = nextAt
  return retick(undefined, record, entryAt(record, ctx))
}

/** The spec changed (`update`, or a declarative schedule's definition): the next tick is recomputed from now; the last run stays. */
export const scheduleUpdated = (before: ScheduleRecord, patch: Partial<ScheduleRecord>, times: TickTimes, ctx: TickContext) => {
  const next: ScheduleRecord = { ...before, ...patch, updatedAt: ctx.now }
  for (const k of Object.keys(patch) as (keyof ScheduleRecord)[]) if (patch[k] === undefined) delete next[k]
  if (next.overlap !== 'buffer-one') delete next.buffered
  const nextAt = times.next(ctx.now)
  if (nextAt === undefined) delete next.nextAt
  else next.nextAt = nextAt
  return retick(before, next, entryAt(next, ctx))
}

/** Paused: no tick entry; ticks that pass meanwhile are not caught up. */
export const schedulePaused = (before: ScheduleRecord, ctx: TickContext) =>
  retick(before, { ...before, paused: true, updatedAt: ctx.now }, undefined)

/** Resumed: the next tick is the first after now. */
export const scheduleResumed = (before: ScheduleRecord, times: TickTimes, ctx: TickContext) =>
  scheduleUpdated(before, { paused: false }, times, ctx)

/** `schedules.trigger`: a run started now counts as the schedule's last run (overlap looks at it). */
export const scheduleTriggered = (before: ScheduleRecord, runId: string, ctx: TickContext): ScheduleChange => ({
  record: { ...before, lastRunId: runId, updatedAt: ctx.now },
  put: [],
  drop: [],
})

/** The schedule's last run ended while a tick waits for it (`buffer-one`): the tick entry comes due now. */
export const lastRunEnded = (before: ScheduleRecord, ctx: TickContext): ScheduleChange =>
  retick(before, { ...before, updatedAt: ctx.now }, ctx.now)

/**
 * The schedule's tick entry came due. `lastRunBusy`: the last run it started has not finished.
 *
 * - A buffered tick (`overlap: 'buffer-one'`) starts once the last run finished.
 * - The due tick: after downtime, `catchup` picks it — `all` takes the oldest missed tick (the
 *   next one comes due at once), `latest` the latest, `none` the latest only if it is within
 *   `graceMs` of now. A tick while a run is busy is skipped, buffered (one), or started (`allow`).
 * One run at most per call; the run's id comes from the schedule id and the tick time.
 */
export const tickFired = (
  s: ScheduleRecord,
  times: TickTimes,
  ctx: TickContext,
  lastRunBusy: boolean,
  foundTickKey?: string,
): TickOutcome => {
  const { now } = ctx
  const next: ScheduleRecord = { ...s, updatedAt: now }
  const skipped: TickOutcome['skipped'] = []
  let start: number | undefined
  if (next.buffered !== undefined && !lastRunBusy) {
    start = next.buffered
    delete next.buffered
  }
  if (!s.paused && s.nextAt !== undefined && s.nextAt <= now) {
    let tick: number | undefined = s.nextAt
    let after = s.nextAt
    if (s.catchup !== 'all') {
      const latest = Math.max(s.nextAt, times.prev(now) ?? s.nextAt)
      if (latest > s.nextAt) skipped.push({ tickAt: s.nextAt, reason: 'catchup' })
      tick = latest
      after = latest
      if (s.catchup === 'none' && now - latest > ctx.graceMs) {
        skipped.push({ tickAt: latest, reason: 'catchup' })
        tick = undefined
      }
    }
    const nextAt = times.next(after)
    if (nextAt === undefined) delete next.nextAt
    else next.nextAt = nextAt
    if (tick !== undefined) {
      next.lastTickAt = tick
      const busy = lastRunBusy || start !== undefined
      if (!busy || s.overlap === 'allow') {
        if (start === undefined) start = tick
        else skipped.push({ tickAt: tick, reason: 'overlap' })
      } else if (s.overlap === 'buffer-one' && next.buffered === undefined) next.buffered = tick
      else skipped.push({ tickAt: tick, reason: 'overlap' })
    }
  }
  return { ...retick(s, next, entryAt(next, ctx), foundTickKey), start, skipped }
}

/** The run id of a schedule's tick: the same in every process, so a tick can create its run once. */
export const tickRunId = (scheduleId: string, tickAt: number) => `${scheduleId}@${new Date(tickAt).toISOString()}`

/** The run id of a schedule's "run now" (`schedules.trigger`). */
export const manualRunId = (scheduleId: string, now: number) => `${scheduleId}@manual-${new Date(now).toISOString()}`

/** The schedule a run id of {@link tickRunId} or {@link manualRunId} names; undefined for other ids. */
export const scheduleOfRunId = (runId: string): string | undefined => {
  const at = runId.lastIndexOf('@')
  return at > 0 ? runId.slice(0, at) : undefined
}
