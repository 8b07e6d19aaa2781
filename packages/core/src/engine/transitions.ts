import type { WriteOp } from '../datastore/types.js'
import { keys } from './keys.js'
import { type DueKind, type PendingReason, type RunRecord, type RunStatus, type StoredError, without } from './records.js'

/**
 * Every change of a run record, as pure functions: a record (and the time, and who asks) in, the
 * new record and the ops that go with it out. Nothing else in the engine builds a run's due or
 * index entries, so each transition is written once and called from everywhere.
 *
 * A change is applied in one batch, in this order (the order stores without atomic batches
 * depend on, see ARCHITECTURE.md): `put` (new due and index entries, new data), then whatever the
 * caller adds (journal entries), then the record itself (conditional on its version), then `drop`
 * (the entries the new record no longer points to). Stopped anywhere, the store holds the old
 * record with, at worst, extra due or index entries: a due entry is a hint to look at a run, and
 * every reader of an index checks the record it points to.
 */
export interface Change {
  record: RunRecord
  put: WriteOp[]
  drop: WriteOp[]
}

/** Who asks, and when. */
export interface TransitionContext {
  /** Unix ms (engine clock). */
  now: number
  engineId: string
  leaseMs: number
  retentionMs: number
}

/**
 * The index entry that says what a record is: by workflow and status, so a status change moves
 * one entry (a set and a delete). "All runs", "all runs of a workflow" and "all runs in a status"
 * are merges of these (`queries.ts`), so a run costs no index entry that never changes.
 */
const indexKey = (r: RunRecord): string => keys.index.byWorkflowStatus(r.workflowId, r.status, r.createdAt, r.id)

/** Moves the index entry of `before` to that of `after` (when it differs). */
const reindex = (before: RunRecord | undefined, after: RunRecord | undefined, put: WriteOp[], drop: WriteOp[]) => {
  if (before && after && before.status === after.status) return
  const old = before && indexKey(before)
  const next = after && indexKey(after)
  if (next !== undefined && next !== old) put.push({ op: 'set', key: next, value: '' })
  if (old !== undefined && old !== next) drop.push({ op: 'delete', key: old })
}

/**
 * Points the record at its one due entry (or none), writing the new entry and dropping the old;
 * returns the record with its `dueKey`.
 */
const redue = (record: RunRecord, due: { at: number; kind: DueKind } | undefined, put: WriteOp[], drop: WriteOp[]): RunRecord => {
  const key = due === undefined ? undefined : keys.due(due.at, record.id)
  if (key !== undefined && (key !== record.dueKey || due?.kind !== 'run')) put.push({ op: 'set', key, value: due?.kind ?? 'run' })
  if (record.dueKey !== undefined && record.dueKey !== key) drop.push({ op: 'delete', key: record.dueKey })
  if (key === undefined) return record.dueKey === undefined ? record : without(record, ['dueKey'])
  record.dueKey = key
  return record
}

/** `next` is a fresh copy the transition may still change (its due key). */
const change = (before: RunRecord | undefined, next: RunRecord, due: { at: number; kind: DueKind } | undefined | null): Change => {
  const put: WriteOp[] = []
  const drop: WriteOp[] = []
  const record = due === null ? next : redue(next, due, put, drop)
  reindex(before, record, put, drop)
  return { record, put, drop }
}

// Fields a transition drops (copies are made with `without`, never `delete`: see records.ts).
/** Held only while the run executes here. */
const SUSPENDED: (keyof RunRecord)[] = ['owner', 'leaseUntil', 'slots', 'wakeAt', 'waitingFor']
const NOT_RUNNING: (keyof RunRecord)[] = ['wakeAt', 'waitingFor', 'pendingReason', 'slots']
const ENDED: (keyof RunRecord)[] = [...SUSPENDED, 'output', 'error', 'failedSeq', 'pendingReason']
const RETRIED: (keyof RunRecord)[] = [...SUSPENDED, 'error', 'output', 'finishedAt', 'expiresAt', 'failedSeq']

/** The run lets go of its concurrency slots (it stops executing): they are deleted after the record is written. */
const releaseSlots = (before: RunRecord, c: Change): Change => {
  for (const key of before.slots ?? []) c.drop.push({ op: 'delete', key })
  return c
}

/** A concurrency slot to take in a claim: its key and its version as read (0: free; else ours, or left by a run that no longer holds it). */
export interface SlotClaim {
  key: string
  version: number
}

/** Fields of a new run (besides those every run has). */
export type NewRun = Pick<RunRecord, 'id' | 'workflowId' | 'workflowVersion' | 'input' | 'state' | 'nonce'> &
  Partial<Pick<RunRecord, 'parent' | 'priority' | 'schedule' | 'pendingReason'>>

/**
 * A new run: executing here at once (`owner` given) or `pending` for whoever claims it, due now or,
 * held back by flow control (a throttle, a debounce), at `dueAt`.
 */
export const created = (fields: NewRun, ctx: TransitionContext, runHere: boolean, dueAt?: number): Change => {
  const { now } = ctx
  const record: RunRecord = without(
    {
      f: 2,
      ...fields,
      status: runHere ? 'running' : 'pending',
      generation: 0,
      createdAt: now,
      updatedAt: now,
      steps: 0,
      owner: runHere ? ctx.engineId : undefined,
      leaseUntil: runHere ? now + ctx.leaseMs : undefined,
    },
    [],
  )
  return change(undefined, record, { at: runHere ? now + ctx.leaseMs : (dueAt ?? now), kind: 'run' })
}

/**
 * This engine takes the run: it is `running` here, its due entry moves to the lease's expiry (the
 * takeover timer if this engine dies), and a due entry found besides the record's own is dropped.
 * `slots`: the concurrency slots it takes (compare-and-set on each, before the record); slots it
 * held and no longer needs are deleted.
 */
export const claimed = (record: RunRecord, ctx: TransitionContext, foundDueKey?: string, slots: SlotClaim[] = []): Change => {
  const next: RunRecord = without(record, NOT_RUNNING)
  next.status = 'running'
  next.owner = ctx.engineId
  next.leaseUntil = ctx.now + ctx.leaseMs
  next.updatedAt = ctx.now
  if (slots.length) next.slots = slots.map((s) => s.key)
  const c = change(record, next, { at: ctx.now + ctx.leaseMs, kind: 'run' })
  c.put.unshift(...slots.map((s): WriteOp => ({ op: 'set', key: s.key, value: record.id, ifVersion: s.version })))
  for (const key of record.slots ?? []) if (!next.slots?.includes(key)) c.drop.push({ op: 'delete', key })
  if (foundDueKey !== undefined && foundDueKey !== record.dueKey && foundDueKey !== next.dueKey)
    c.drop.push({ op: 'delete', key: foundDueKey })
  return c
}

/**
 * Flow control holds the run back (every slot of its concurrency key is taken): `pending`, nobody
 * holds it, its due entry at `reason.until`, the reason on the record for `getRun`.
 */
export const deferred = (record: RunRecord, ctx: TransitionContext, reason: PendingReason, foundDueKey?: string): Change => {
  const next = without(record, SUSPENDED)
  next.status = 'pending'
  next.updatedAt = ctx.now
  next.pendingReason = reason
  const c = releaseSlots(record, change(record, next, { at: reason.until, kind: 'run' }))
  if (foundDueKey !== undefined && foundDueKey !== record.dueKey && foundDueKey !== next.dueKey)
    c.drop.push({ op: 'delete', key: foundDueKey })
  return c
}

/** A debounced run that has not started takes the latest input; its start moves to `reason.until`. */
export const redebounced = (record: RunRecord, ctx: TransitionContext, input: unknown, reason: PendingReason): Change =>
  change(record, { ...record, input, updatedAt: ctx.now, pendingReason: reason }, { at: reason.until, kind: 'run' })

/** The owner extends its lease; the takeover timer moves with it. */
export const renewed = (record: RunRecord, ctx: TransitionContext): Change =>
  change(record, { ...record, leaseUntil: ctx.now + ctx.leaseMs }, { at: ctx.now + ctx.leaseMs, kind: 'run' })

/** The run waits for a time (`sleeping`) or an event (`waiting`); nobody holds it meanwhile. */
export const suspended = (record: RunRecord, ctx: TransitionContext, wakeAt: number | undefined, waitingFor: string[]): Change => {
  const next = without(record, SUSPENDED)
  next.status = waitingFor.length ? 'waiting' : 'sleeping'
  next.updatedAt = ctx.now
  if (wakeAt !== undefined) next.wakeAt = wakeAt
  if (waitingFor.length) next.waitingFor = waitingFor
  return releaseSlots(record, change(record, next, wakeAt === undefined ? undefined : { at: wakeAt, kind: 'run' }))
}

/** The owner lets the run go (engine stopping): `pending`, due now, for any engine to take. */
export const released = (record: RunRecord, ctx: TransitionContext): Change => {
  const next = without(record, SUSPENDED)
  next.status = 'pending'
  next.updatedAt = ctx.now
  return releaseSlots(record, change(record, next, { at: ctx.now, kind: 'run' }))
}

/** How a run ends. */
export interface Ending {
  status: Extract<RunStatus, 'completed' | 'failed' | 'cancelled'>
  output?: unknown
  error?: StoredError
  /** Journal position of the step failure that ended it. */
  failedSeq?: number
  /** It has child runs still going: cancel them (a `cascade` due entry, now) before retention starts. */
  cascade?: boolean
}

/** The run ends. Its due entry becomes the cascade to its children, or its removal after retention. */
export const ended = (record: RunRecord, ctx: TransitionContext, end: Ending): Change => {
  const next = without(record, ENDED)
  const { now } = ctx
  next.status = end.status
  next.updatedAt = now
  next.finishedAt = now
  next.expiresAt = now + ctx.retentionMs
  if (end.output !== undefined) next.output = end.output
  if (end.error !== undefined) next.error = end.error
  if (end.failedSeq !== undefined) next.failedSeq = end.failedSeq
  return releaseSlots(record, change(record, next, end.cascade ? { at: now, kind: 'cascade' } : { at: next.expiresAt, kind: 'gc' }))
}

/** The children of a cancelled run were told: its due entry becomes its removal after retention. */
export const cascaded = (record: RunRecord): Change =>
  change(record, { ...record }, { at: record.expiresAt ?? record.updatedAt, kind: 'gc' })

/**
 * `engine.retry`: a new generation from the failure that ended the run (the failed step and any
 * failure journaled after it are tried again; failures the code caught before it stay).
 */
export const retried = (record: RunRecord, ctx: TransitionContext): Change => {
  const next = without(record, RETRIED)
  next.status = 'pending'
  next.generation = record.generation + 1
  next.retryFromSeq = record.failedSeq ?? Number.MAX_SAFE_INTEGER
  next.updatedAt = ctx.now
  return change(record, next, { at: ctx.now, kind: 'run' })
}

/** Retention starts removing the run: from here it cannot be retried (fenced by the record's version). */
export const deleting = (record: RunRecord): Change => change(record, { ...record, deleting: true }, null)

/** The last step of removal: the record's own due and index entries go with it. */
export const removedOps = (record: RunRecord): WriteOp[] => {
  const drop: WriteOp[] = []
  if (record.dueKey) drop.push({ op: 'delete', key: record.dueKey })
  reindex(record, undefined, [], drop)
  return drop
}

/** A record that cannot be read is replaced by a failed one that says why (its indexes are unknown). */
export const corruptReplacement = (runId: string, error: StoredError, ctx: TransitionContext): Change => {
  const { now } = ctx
  const record: RunRecord = {
    f: 2,
    id: runId,
    workflowId: 'unknown',
    workflowVersion: 'unknown',
    status: 'failed',
    input: null,
    state: null,
    error,
    nonce: 'corrupt',
    generation: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
    expiresAt: now + ctx.retentionMs,
    steps: 0,
  }
  return change(undefined, record, { at: record.expiresAt as number, kind: 'gc' })
}

/**
 * The ops of a change applied by someone who read the record at `version` (not its owner): new
 * data, the record (conditional), then the deletions.
 */
export const batchOf = (c: Change, encodedRecord: string, version: number, extra: WriteOp[] = []): WriteOp[] => [
  ...c.put,
  ...extra,
  { op: 'set', key: keys.run(c.record.id), value: encodedRecord, ifVersion: version },
  ...c.drop,
]

/**
 * A signal to a run (a user signal, a cancel request, a child's result): the buffered signal and a
 * blind write of the run's inbox marker (its version moves, so an owner about to suspend notices).
 */
export const signalOps = (runId: string, nonce: string, sentAt: number, seq: number, origin: string, encoded: string): WriteOp[] => [
  { op: 'set', key: keys.signal(runId, nonce, sentAt, seq, origin), value: encoded },
  { op: 'set', key: keys.inbox(runId), value: '' },
]
