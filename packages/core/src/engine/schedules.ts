import type { ListedEntry, StoredEntry, WriteOp } from '../datastore/types.js'
import { toMs } from '../duration.js'
import { ConflictError, InvalidArgumentError, ScheduleNotFoundError, WorkflowNotFoundError } from '../errors.js'
import type { Hooks } from '../hooks/registry.js'
import { assertId } from '../ids.js'
import type { Logger } from '../logger.js'
import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import { type AdmissionHost, type Admitted, admit } from './admission.js'
import { assertTimezone, tickTimes } from './cron.js'
import type { RunHandle } from './engine-types.js'
import { keys, scheduleIdOfTickKey, timeOfTickKey } from './keys.js'
import { type ScheduleCatchup, type ScheduleOverlap, type ScheduleRecord, TERMINAL } from './records.js'
import {
  lastRunEnded,
  manualRunId,
  type ScheduleChange,
  scheduleCreated,
  scheduleOfRunId,
  schedulePaused,
  scheduleResumed,
  scheduleTriggered,
  scheduleUpdated,
  type TickContext,
  tickFired,
  tickRunId,
} from './schedule-transitions.js'
import type { EngineSchedules, ScheduleInfo, ScheduleOptions, ScheduleUpdate } from './schedule-types.js'

/** What schedules need from their engine. */
export interface ScheduleHost extends AdmissionHost {
  readonly hooks: Hooks
  readonly log: Logger
  readonly pollIntervalMs: number
  /** The latest registered definition of a workflow. */
  workflow(id: string): Workflow | undefined
  /** Starts a run now, as `engine.trigger` does (flow control included). */
  trigger(wf: Workflow, input: unknown, runId: string): Promise<RunHandle>
  /** A tick entry or a pending run became due at `at`: poll then (and tell other processes). */
  due(at: number, runCreated: boolean): void
  /** A batch of admitted writes went through: emit what flow control did. */
  admitted(wf: Workflow, a: Admitted, runId: string): void
}

const OVERLAPS: readonly ScheduleOverlap[] = ['skip', 'buffer-one', 'allow']
const CATCHUPS: readonly ScheduleCatchup[] = ['none', 'latest', 'all']
const GRACE_MS = 60_000
/** How soon a buffered tick looks at its last run again when nothing woke it (a process died as the run ended). */
const RECHECK_MS = 30_000
const SPEC_FIELDS = ['workflowId', 'cron', 'timezone', 'every', 'input', 'overlap', 'catchup'] as const

const toInfo = (r: ScheduleRecord): ScheduleInfo => {
  const info: ScheduleInfo = {
    id: r.id,
    workflowId: r.workflowId,
    overlap: r.overlap,
    catchup: r.catchup,
    paused: r.paused,
    declarative: r.declarative === true,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }
  if (r.cron !== undefined) info.cron = r.cron
  if (r.every !== undefined) info.every = r.every
  if (r.timezone !== undefined) info.timezone = r.timezone
  if (r.input !== undefined) info.input = r.input
  if (r.nextAt !== undefined && !r.paused) info.nextRunAt = r.nextAt
  if (r.buffered !== undefined) info.bufferedTickAt = r.buffered
  if (r.lastRunId !== undefined) info.lastRunId = r.lastRunId
  if (r.lastTickAt !== undefined) info.lastTickAt = r.lastTickAt
  return info
}

/**
 * Durable schedules. A schedule is a record `sch/{id}` and one tick entry `tick/{time}/{id}`, which
 * the scheduler pages like the due index (no in-memory timer per schedule). Firing a tick is one
 * batch: the schedule record by compare-and-set (next tick computed, its entry moved) and the run
 * for the tick, created only if absent under an id made of the schedule id and the tick time, so
 * any number of processes start exactly one run per tick.
 */
export class Schedules implements EngineSchedules {
  private readonly unknown = new Set<string>()

  constructor(private readonly host: ScheduleHost) {}

  private ctx(): TickContext {
    return { now: this.host.now(), graceMs: GRACE_MS, recheckMs: Math.max(this.host.pollIntervalMs, RECHECK_MS) }
  }

  /**
   * A run ended (here, or cancelled while nobody executed it). If it is its schedule's last run and
   * a tick waits for it (`buffer-one`), that tick comes due now instead of at its next look.
   */
  async runEnded(runId: string): Promise<void> {
    const scheduleId = scheduleOfRunId(runId)
    if (scheduleId === undefined) return
    const got = await this.read(scheduleId).catch(() => undefined)
    if (!got || got.record.buffered === undefined || got.record.paused || got.record.lastRunId !== runId) return
    await this.write(lastRunEnded(got.record, this.ctx()), got.version)
  }

  private async read(id: string): Promise<{ record: ScheduleRecord; version: number } | undefined> {
    const got = await this.host.store.get(keys.schedule(assertId(id, 'schedule id')))
    return got ? { record: this.host.store.decode<ScheduleRecord>(got, keys.schedule(id)), version: got.version } : undefined
  }

  private async mustRead(id: string) {
    const got = await this.read(id)
    if (!got) throw new ScheduleNotFoundError(id)
    return got
  }

  /** Writes a change of a schedule read at `version` (0: new); false when it moved meanwhile. */
  private async write(c: ScheduleChange, version: number, extra: WriteOp[] = []): Promise<boolean> {
    const { store } = this.host
    const res = await store.batch([
      ...c.put,
      ...extra,
      { op: 'set', key: keys.schedule(c.record.id), value: store.encode(c.record, `schedule "${c.record.id}"`), ifVersion: version },
      ...c.drop,
    ])
    if (res.ok && c.record.tickKey) this.host.due(timeOfTickKey(c.record.tickKey), false)
    return res.ok
  }

  /** Checks options and makes the spec fields of a record. */
  private async spec(o: ScheduleOptions | (ScheduleUpdate & { workflow: Workflow | string }), now: number) {
    const wf = this.host.workflow(typeof o.workflow === 'string' ? o.workflow : o.workflow?.id)
    if (!wf)
      throw new WorkflowNotFoundError(
        `Workflow "${String(typeof o.workflow === 'string' ? o.workflow : o.workflow?.id)}" is not registered with this engine`,
        String(o.workflow),
      )
    if ((o.cron === undefined) === (o.every === undefined)) throw new InvalidArgumentError('A schedule needs one of `cron` or `every`')
    if (o.overlap !== undefined && !OVERLAPS.includes(o.overlap))
      throw new InvalidArgumentError(`overlap must be one of ${OVERLAPS.join(', ')}`)
    if (o.catchup !== undefined && !CATCHUPS.includes(o.catchup))
      throw new InvalidArgumentError(`catchup must be one of ${CATCHUPS.join(', ')}`)
    const fields: Partial<ScheduleRecord> & { workflowId: string } = {
      workflowId: wf.id,
      overlap: o.overlap ?? 'skip',
      catchup: o.catchup ?? 'latest',
      input:
        o.input === undefined
          ? undefined
          : this.host.store.scrub(await parseWith(wf.inputSchema, o.input, `input of schedule for "${wf.id}"`)),
    }
    if (o.cron !== undefined) {
      if (typeof o.cron !== 'string') throw new InvalidArgumentError('cron must be a string')
      fields.cron = o.cron
      if (o.timezone !== undefined) fields.timezone = assertTimezone(o.timezone)
    } else {
      const every = toMs(o.every as never, 'every')
      if (every < 1_000) throw new InvalidArgumentError(`every must be at least 1s, got ${every} ms`)
      fields.every = every
      fields.anchor = now
    }
    tickTimes(fields)
    return fields
  }

  async create<W extends Workflow>(o: ScheduleOptions<W>, declarative = false): Promise<ScheduleInfo> {
    if (!o || typeof o !== 'object') throw new InvalidArgumentError('schedules.create needs options')
    const id = assertId(o.id, 'schedule id')
    if (id.length > 200) throw new InvalidArgumentError(`Schedule id "${id}" is longer than 200 characters`)
    for (;;) {
      const ctx = this.ctx()
      const fields = await this.spec(o, ctx.now)
      const existing = await this.read(id)
      if (existing) {
        if (
          SPEC_FIELDS.every(
            (k) =>
              JSON.stringify(existing.record[k]) === JSON.stringify(fields[k]) || (k === 'every' && existing.record.every === fields.every),
          )
        )
          return toInfo(existing.record)
        throw new ConflictError(`Schedule "${id}" exists with other options; use schedules.update("${id}", …)`, keys.schedule(id))
      }
      const record = { id, paused: o.paused === true, ...fields, ...(declarative ? { declarative: true as const } : {}) } as ScheduleRecord
      const c = scheduleCreated(record, tickTimes(record), ctx)
      if (await this.write(c, 0)) return toInfo(c.record)
    }
  }

  async list(options: { workflowId?: string; limit?: number; cursor?: string } = {}) {
    const limit = options.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new InvalidArgumentError('schedules.list: limit must be 1 to 1000')
    const schedules: ScheduleInfo[] = []
    let after = options.cursor === undefined ? undefined : keys.schedule(options.cursor)
    for (;;) {
      const page = await this.host.store.list(keys.schedulePrefix, { after, limit })
      for (const e of page) {
        const r = this.host.store.decode<ScheduleRecord>(e, e.key)
        if (options.workflowId === undefined || r.workflowId === options.workflowId) schedules.push(toInfo(r))
        if (schedules.length === limit) {
          const more = page.length === limit || e !== page[page.length - 1]
          return more ? { schedules, nextCursor: r.id } : { schedules }
        }
      }
      if (page.length < limit) return { schedules }
      after = page[page.length - 1]?.key
    }
  }

  async get(id: string) {
    return toInfo((await this.mustRead(id)).record)
  }

  /** Reads, decides and writes a change until it lands. */
  private async change(id: string, decide: (r: ScheduleRecord, ctx: TickContext) => Promise<ScheduleChange> | ScheduleChange) {
    for (;;) {
      const { record, version } = await this.mustRead(id)
      const c = await decide(record, this.ctx())
      if (await this.write(c, version)) return toInfo(c.record)
    }
  }

  pause(id: string) {
    return this.change(id, (r, ctx) => schedulePaused(r, ctx))
  }

  resume(id: string) {
    return this.change(id, (r, ctx) => scheduleResumed(r, tickTimes(r), ctx))
  }

  update<W extends Workflow>(id: string, patch: ScheduleUpdate<W>) {
    return this.change(id, async (r, ctx) => {
      const merged = { ...r, ...patch, workflow: patch.workflow ?? r.workflowId, every: patch.every ?? r.every } as ScheduleOptions
      if (patch.cron !== undefined) delete merged.every
      if (patch.every !== undefined) delete merged.cron
      const fields = await this.spec(merged, ctx.now)
      if (fields.every !== undefined && r.every !== undefined && patch.every === undefined) fields.anchor = r.anchor
      const next = { cron: undefined, timezone: undefined, every: undefined, anchor: undefined, ...fields }
      if (patch.paused !== undefined) Object.assign(next, { paused: patch.paused })
      return scheduleUpdated(r, next, tickTimes({ ...r, ...next } as ScheduleRecord), ctx)
    })
  }

  async delete(id: string): Promise<boolean> {
    for (;;) {
      const got = await this.read(id)
      if (!got) return false
      const res = await this.host.store.batch([
        { op: 'delete', key: keys.schedule(id), ifVersion: got.version },
        ...(got.record.tickKey ? [{ op: 'delete' as const, key: got.record.tickKey }] : []),
      ])
      if (res.ok) return true
    }
  }

  async trigger(id: string): Promise<RunHandle> {
    const { record } = await this.mustRead(id)
    const wf = this.host.workflow(record.workflowId)
    if (!wf) throw new WorkflowNotFoundError(`Workflow "${record.workflowId}" is not registered with this engine`, record.workflowId)
    const runId = manualRunId(id, this.host.now())
    // The pointer first: a crash before the run exists leaves it pointing at no run, which overlap
    // reads as "not busy"; the other order could leave a run the schedule does not know of.
    await this.change(id, (r, ctx) => scheduleTriggered(r, runId, ctx))
    const handle = await this.host.trigger(wf, record.input, runId)
    // A singleton or debounce gave an existing run instead.
    if (handle.id !== runId) await this.change(id, (r, ctx) => scheduleTriggered(r, handle.id, ctx))
    return handle
  }

  /**
   * Keeps the declarative schedules (`workflow.create({ schedule })`) in line with the registered
   * definitions: created when missing, updated when the definition changed, removed when the
   * workflow no longer declares one. Idempotent, and safe when several processes start at once.
   */
  async register(workflows: Workflow[]): Promise<void> {
    const declared = new Set<string>()
    for (const wf of workflows) {
      if (!wf.schedule) continue
      const id = `workflow:${wf.id}`
      declared.add(id)
      const { cron, timezone, input, overlap, catchup } = wf.schedule
      const options = { id, workflow: wf, cron, timezone, input, overlap, catchup }
      try {
        await this.create(options, true)
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error
        await this.update(id, { cron, timezone, input, overlap, catchup, every: undefined })
      }
    }
    const ids = new Set(workflows.map((wf) => wf.id))
    for (const e of await this.host.store.listAll(`${keys.schedulePrefix}workflow:`)) {
      const r = this.host.store.decode<ScheduleRecord>(e, e.key)
      if (r.declarative && ids.has(r.workflowId) && !declared.has(r.id)) await this.delete(r.id)
    }
  }

  /** Fires a page of due tick entries (the scheduler's pass), in parallel: each is its own schedule. */
  async fire(page: ListedEntry[]): Promise<void> {
    const got = await this.host.store.getMany(page.map((e) => keys.schedule(scheduleIdOfTickKey(e.key))))
    await Promise.all(page.map((entry, i) => this.fireOne(entry, got[i])))
  }

  private async fireOne(entry: ListedEntry, got: StoredEntry | undefined): Promise<void> {
    const { store, hooks } = this.host
    if (!got) {
      await store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    const s = store.decode<ScheduleRecord>(got, keys.schedule(scheduleIdOfTickKey(entry.key)))
    if (entry.key !== s.tickKey) {
      await store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    const wf = this.host.workflow(s.workflowId)
    if (!wf) {
      if (!this.unknown.has(s.id))
        this.host.log.error(
          `Schedule "${s.id}" starts workflow "${s.workflowId}", which this engine does not have; leaving it for an engine that does`,
        )
      this.unknown.add(s.id)
      return
    }
    const last = s.lastRunId === undefined ? undefined : await this.host.runs.read(s.lastRunId).catch(() => undefined)
    const busy = last !== undefined && !TERMINAL.has(last.record.status)
    const ctx = this.ctx()
    const out = tickFired(s, tickTimes(s), ctx, busy)
    let admitted: Admitted | undefined
    let runId: string | undefined
    let dropped = false
    if (out.start !== undefined) {
      runId = tickRunId(s.id, out.start)
      admitted = await admit(this.host, wf, { runId, input: s.input, runHere: false, schedule: { id: s.id, tickAt: out.start } })
      if (admitted.kind === 'dropped') dropped = true
      else out.record.lastRunId = admitted.kind === 'existing' ? admitted.runId : runId
    }
    const extra = admitted && admitted.kind !== 'dropped' ? admitted.ops : []
    let ok = await this.write(out, got.version, extra)
    if (!ok && runId !== undefined && extra.length && (await store.get(keys.run(runId)))) {
      // The tick's run exists (an earlier try was cut midway on a store without atomic batches): move on without it.
      admitted = undefined
      ok = await this.write(out, got.version)
    }
    if (!ok) return
    if (admitted && runId) {
      this.host.admitted(wf, admitted, runId)
      if (admitted.kind === 'create') this.host.due(this.host.now(), true)
    }
    if (!hooks.has('schedule:tick')) return
    const base = { scheduleId: s.id, workflowId: s.workflowId, at: ctx.now }
    if (out.start !== undefined)
      hooks.emit('schedule:tick', {
        ...base,
        tickAt: out.start,
        ...(dropped ? { skipped: 'rate-limit' as const } : { runId: out.record.lastRunId }),
      })
    for (const skip of out.skipped) hooks.emit('schedule:tick', { ...base, tickAt: skip.tickAt, skipped: skip.reason })
    if (out.record.buffered !== undefined && out.record.buffered !== s.buffered)
      hooks.emit('schedule:tick', { ...base, tickAt: out.record.buffered, buffered: true })
  }
}
