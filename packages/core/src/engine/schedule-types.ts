import type { Duration } from '../duration.js'
import type { Workflow, WorkflowInput } from '../workflow.js'
import type { RunHandle } from './engine-types.js'
import type { ScheduleCatchup, ScheduleOverlap } from './records.js'

/** Options of `engine.schedules.create`: a cron expression or a fixed interval. */
export interface ScheduleOptions<W extends Workflow = Workflow> {
  /** Schedule id (`workflow:<id>` is taken by declarative schedules). Up to 200 characters. */
  id: string
  /** The workflow (or its id) each tick starts. */
  workflow: W | string
  /** Cron expression: 5 fields, or 6 with seconds first; `L`, `W`, `#` supported. */
  cron?: string
  /** A fixed interval instead of `cron`, counted from when the schedule is made (e.g. `'15m'`). */
  every?: Duration
  /** IANA time zone `cron` is read in. @default 'UTC' */
  timezone?: string
  /** Input of every run. */
  input?: WorkflowInput<W>
  /** A tick while the last run has not finished: `skip` it, keep one for when it finishes (`buffer-one`), or start anyway (`allow`). @default 'skip' */
  overlap?: ScheduleOverlap
  /** Ticks missed while no engine ran: start none, one for the latest, or one for each. @default 'latest' */
  catchup?: ScheduleCatchup
  /** Create it paused. @default false */
  paused?: boolean
}

/** What `update` may change. */
export type ScheduleUpdate<W extends Workflow = Workflow> = Partial<Omit<ScheduleOptions<W>, 'id'>>

/** A schedule, as `engine.schedules` shows it. */
export interface ScheduleInfo {
  id: string
  workflowId: string
  cron?: string
  /** Interval, ms. */
  every?: number
  timezone?: string
  input?: unknown
  overlap: ScheduleOverlap
  catchup: ScheduleCatchup
  paused: boolean
  /** Made by `workflow.create({ schedule })`. */
  declarative: boolean
  /** The next tick (Unix ms); absent while paused or when no tick is left. */
  nextRunAt?: number
  /** A tick buffered until the last run finishes (Unix ms). */
  bufferedTickAt?: number
  lastRunId?: string
  /** The last tick handled (Unix ms). */
  lastTickAt?: number
  createdAt: number
  updatedAt: number
}

/** `engine.schedules`: durable schedules, shared by every engine process on the store. */
export interface EngineSchedules {
  /**
   * Creates a schedule. With an id that exists already and the same options, resolves it as it is
   * (safe at every boot); with other options throws ConflictError (use `update`).
   * @example
   * ```ts
   * await engine.schedules.create({ id: 'nightly-report', workflow: report, cron: '0 2 * * *', timezone: 'Europe/Berlin' })
   * await engine.schedules.create({ id: 'poll-feed', workflow: poll, every: '5m', overlap: 'skip' })
   * ```
   */
  create<W extends Workflow>(options: ScheduleOptions<W>): Promise<ScheduleInfo>
  /** Schedules by id (`workflowId` filters), a page at a time. */
  list(options?: { workflowId?: string; limit?: number; cursor?: string }): Promise<{ schedules: ScheduleInfo[]; nextCursor?: string }>
  /** @throws ScheduleNotFoundError */
  get(id: string): Promise<ScheduleInfo>
  /** Stops ticking (ticks that pass meanwhile are not caught up). @throws ScheduleNotFoundError */
  pause(id: string): Promise<ScheduleInfo>
  /** Ticks again from the first tick after now. @throws ScheduleNotFoundError */
  resume(id: string): Promise<ScheduleInfo>
  /** Changes the spec, input or policies; the next tick is recomputed from now. @throws ScheduleNotFoundError */
  update<W extends Workflow>(id: string, patch: ScheduleUpdate<W>): Promise<ScheduleInfo>
  /** Removes the schedule (its runs stay). Resolves false when it did not exist. */
  delete(id: string): Promise<boolean>
  /** Starts one run now with the schedule's input (it counts as the schedule's last run). @throws ScheduleNotFoundError */
  trigger(id: string): Promise<RunHandle>
}
