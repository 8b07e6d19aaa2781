import { errorClassOf } from '../errors.js'

/** What the engine stores: one run record per run, and its journal of steps. */

/** Run statuses. `pending`: created, not yet started. `sleeping`: waiting on a timer (a sleep or a retry delay). `waiting`: waiting on an event or a child run. */
export type RunStatus = 'pending' | 'running' | 'sleeping' | 'waiting' | 'completed' | 'failed' | 'cancelled'

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled'])

/** An error as stored: enough to rebuild it and to show it. */
export interface StoredError {
  name: string
  message: string
  code?: string
  stack?: string
  /** Whether another attempt may help (the step's own retry decision). */
  retryable?: boolean
}

/** What a due entry asks for (its value): run the run, cancel its children, or remove it. */
export type DueKind = 'run' | 'cascade' | 'gc'

/** The parent of a child run (`step.invoke`): where its result goes. */
export interface ParentRef {
  runId: string
  stepId: string
  /** The parent's incarnation: the child's result is a signal under it. */
  nonce: string
}

/** The run record, `run/{id}`. Its version is the run's fencing token. */
export interface RunRecord {
  /** Record format version. */
  f: 2
  id: string
  workflowId: string
  workflowVersion: string
  status: RunStatus
  input: unknown
  state: unknown
  output?: unknown
  error?: StoredError
  /** Random per incarnation of the id; journal keys carry it. */
  nonce: string
  /** Bumped by `engine.retry`: failures journaled in an earlier generation are tried again. */
  generation: number
  /** Journal position of the failure that ended the run before `engine.retry`: it and later failures are tried again. */
  retryFromSeq?: number
  /** Journal position of the step failure that ended the run (the last failed step the code saw), if one did. */
  failedSeq?: number
  createdAt: number
  updatedAt: number
  finishedAt?: number
  /** Engine instance that holds the lease, while it executes the run. */
  owner?: string
  /** Unix ms when the lease expires. */
  leaseUntil?: number
  /** The run's one entry in the due index (`due/{time}/{id}`), if any. */
  dueKey?: string
  /** When a sleeping run wakes (Unix ms). */
  wakeAt?: number
  /** Events a waiting run waits for. */
  waitingFor?: string[]
  /** Number of committed journal entries (a projection: the journal is the truth). */
  steps: number
  /** The step the run is at (last step started or blocked on). */
  currentStep?: string
  parent?: ParentRef
  /** When the run is removed (Unix ms), once finished. */
  expiresAt?: number
  /** Set by retention before it deletes the journal: the run is being removed and cannot be retried. */
  deleting?: true
  /** Concurrency slots (`slot/…` keys) the run holds while it executes; released when it suspends, ends or is let go. */
  slots?: string[]
  /** Why a pending run has not started yet (flow control), shown by `getRun`. */
  pendingReason?: PendingReason
  /** The workflow's `priority(input)`: among runs due together, the higher starts first. */
  priority?: number
  /** The schedule that started the run, and the tick it is for (Unix ms). */
  schedule?: { id: string; tickAt: number }
}

/** Why a pending run waits (flow control). */
export interface PendingReason {
  /** `concurrency`: every slot of a key is taken; `throttle`: the key's limit per period is reached; `debounce`: more triggers may come. */
  kind: 'concurrency' | 'throttle' | 'debounce'
  /** The flow-control key (as `key(input)` returned it; `''` for a workflow-wide limit). */
  key: string
  /** The limit that holds it (concurrency and throttle). */
  limit?: number
  /** When it is looked at again, or starts (Unix ms). */
  until: number
}

/** How a schedule treats a tick while its last run has not finished. */
export type ScheduleOverlap = 'skip' | 'buffer-one' | 'allow'
/** Which ticks missed while no engine ran (downtime) still start a run. */
export type ScheduleCatchup = 'none' | 'latest' | 'all'

/** A schedule, `sch/{id}`. Its version fences every tick: one run per tick across processes. */
export interface ScheduleRecord {
  f: 1
  id: string
  workflowId: string
  /** A cron expression (5 or 6 fields) read in `timezone`; or else `every`. */
  cron?: string
  /** IANA time zone of `cron`. @default 'UTC' */
  timezone?: string
  /** Fixed interval (ms), ticks at `anchor + k * every`. */
  every?: number
  anchor?: number
  input?: unknown
  overlap: ScheduleOverlap
  catchup: ScheduleCatchup
  paused: boolean
  /** Made by `workflow.create({ schedule })` (id `workflow:<workflowId>`), kept in line with the definition at `engine.start()`. */
  declarative?: true
  /** The next tick (Unix ms), while not paused and not finished. */
  nextAt?: number
  /** The schedule's one tick entry: at `nextAt`, or earlier to look at a buffered tick again. */
  tickKey?: string
  /** A tick kept back by `overlap: 'buffer-one'` until the last run finishes (its time, Unix ms). */
  buffered?: number
  /** The last run the schedule started. */
  lastRunId?: string
  /** The time of the last tick handled (a run started, or skipped). */
  lastTickAt?: number
  createdAt: number
  updatedAt: number
}

export type StepKind = 'action' | 'fn' | 'sleep' | 'wait' | 'state' | 'now' | 'uuid' | 'store.get' | 'store.set' | 'store.delete' | 'invoke'

/** One journal entry, `jrn/{runId}!{nonce}/{seq}`. A step may have several (started, retrying…); the latest counts. */
export interface JournalEntry {
  seq: number
  /** Step id, e.g. `send-welcome-email#1`. */
  id: string
  kind: StepKind
  status: 'done' | 'failed' | 'started' | 'retrying'
  /** The step's result (`done`). */
  value?: unknown
  error?: StoredError
  /** Attempts made so far (actions and fn steps). */
  attempt?: number
  /** When the next attempt may start (Unix ms, `retrying`). */
  nextAttemptAt?: number
  /** Wake-up time of a sleep, deadline of a wait (Unix ms). */
  until?: number
  /** Signal consumed by a wait (its key), so it is never delivered twice. */
  signalKey?: string
  /** Child run of an `invoke`. */
  childId?: string
  /** Generation of the run when this entry was written (see `RunRecord.generation`). */
  gen: number
  /** Commit time (Unix ms). */
  at: number
  /** Time the step took, ms (first attempt start to commit). */
  ms?: number
  /** Short hash of the step's input (actions, invoke, store.set): replay checks the code passes the same. */
  h?: string
}

/** A buffered signal, `sig/{runId}!{time}-{seq}-{origin}`. */
export interface SignalRecord {
  name: string
  payload: unknown
  sentAt: number
}

export const toStoredError = (error: unknown, retryable?: boolean): StoredError => {
  const e = error instanceof Error ? error : new Error(String(error))
  const out: StoredError = { name: e.name, message: e.message }
  const code = (e as { code?: unknown }).code
  if (typeof code === 'string') out.code = code
  if (e.stack) out.stack = e.stack
  if (retryable !== undefined) out.retryable = retryable
  return out
}

/**
 * A copy of a record without its `undefined` fields, so that it encodes as plain JSON (an
 * `undefined` field would take the serializer's tagged path and be stored as a tag).
 */
export const compact = <T extends object>(record: T): T => {
  for (const key in record) if ((record as Record<string, unknown>)[key] === undefined) return without(record, [])
  return record
}

/**
 * A copy of a record without `fields` and without its `undefined` fields. Built by adding
 * properties, never by `delete` (which turns a V8 object into a slow dictionary for the rest of its
 * life, and a run record is read and copied at every step).
 */
export const without = <T extends object>(record: T, fields: readonly (keyof T)[]): T => {
  const out = {} as Record<string, unknown>
  for (const key in record) {
    const v = (record as Record<string, unknown>)[key]
    if (v !== undefined && !fields.includes(key as keyof T)) out[key] = v
  }
  return out as T
}

/** Rebuilds an error as it is seen by workflow code, the same on the first run and on replay. */
export const fromStoredError = (e: StoredError): Error => {
  // do-sdk errors come back as their own class, so `instanceof NonRetryableError` holds on replay too.
  const cls = e.code ? errorClassOf(e.code) : undefined
  const err: Error = cls ? Object.create(cls.prototype) : new Error(e.message)
  if (cls) Object.defineProperty(err, 'message', { value: e.message, enumerable: false, writable: true, configurable: true })
  Object.defineProperty(err, 'name', { value: e.name, enumerable: false, writable: true, configurable: true })
  if (e.code !== undefined) (err as Error & { code?: string }).code = e.code
  if (e.code?.startsWith('ERR_')) (err as unknown as Record<symbol, boolean>)[Symbol.for('do-sdk.error')] = true
  if (e.stack) err.stack = e.stack
  return err
}
