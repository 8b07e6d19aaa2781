import type { WriteOp } from '../datastore/types.js'
import { RateLimitedError } from '../errors.js'
import type { Workflow } from '../workflow.js'
import { flowRecordKey, keyOf, priorityOf, reserveStart } from './flow-control.js'
import { compact, type ParentRef, type PendingReason, type RunRecord, TERMINAL } from './records.js'
import type { Runs } from './runs.js'
import type { EngineStore } from './store.js'
import { batchOf, redebounced } from './transitions.js'

/** What admission needs from its engine. */
export interface AdmissionHost {
  readonly store: EngineStore
  readonly runs: Runs
  now(): number
  /** Cancels a run (singleton `cancel`). */
  cancel(runId: string, reason: string): Promise<void>
}

/** A new run asked for (by a trigger or a schedule's tick). */
export interface RunRequest {
  runId: string
  input: unknown
  /** Create it running here (the trigger executes it at once). */
  runHere: boolean
  parent?: ParentRef
  schedule?: { id: string; tickAt: number }
}

/**
 * What flow control makes of a request. `create`: write `ops` (a new run, and the flow records it
 * moves, each by compare-and-set); `existing`: the request goes to a run that exists (a singleton
 * `skip`, or a debounced run that takes the new input with `ops`); `dropped`: over the rate limit,
 * nothing to write. A batch refused on a flow record lost a race: admit again.
 */
export type Admitted =
  | { kind: 'create'; ops: WriteOp[]; record: RunRecord; delayed?: PendingReason }
  | { kind: 'existing'; runId: string; ops: WriteOp[]; why: 'singleton' | 'debounce'; delayed?: PendingReason }
  | { kind: 'dropped'; error: RateLimitedError }

interface Pointer {
  runId: string
  firstAt?: number
}

const readJson = async <T>(store: EngineStore, key: string): Promise<{ value: T; version: number } | undefined> => {
  const got = await store.get(key)
  return got ? { value: store.decode<T>(got, key), version: got.version } : undefined
}

/** Decides a request against the workflow's singleton, debounce, rate limit and throttle (in that order). */
export const admit = async (host: AdmissionHost, wf: Workflow, req: RunRequest): Promise<Admitted> => {
  const { store, runs } = host
  const flow = wf.flow
  const now = host.now()
  const ops: WriteOp[] = []
  let dueAt: number | undefined
  let pendingReason: PendingReason | undefined

  if (flow?.singleton) {
    const key = keyOf(wf, 'singleton', flow.singleton.key, req.input)
    const recordKey = flowRecordKey('singleton', wf, key)
    const got = await readJson<Pointer>(store, recordKey)
    const held = got && (await runs.read(got.value.runId))
    if (held && !TERMINAL.has(held.record.status)) {
      if (flow.singleton.mode === 'skip') return { kind: 'existing', runId: held.record.id, ops: [], why: 'singleton' }
      await host.cancel(held.record.id, `replaced by run "${req.runId}" (singleton "${key}")`)
    }
    ops.push({ op: 'set', key: recordKey, value: store.encode({ runId: req.runId }, 'singleton'), ifVersion: got?.version ?? 0 })
  }

  if (flow?.debounce) {
    const { periodMs, timeoutMs } = flow.debounce
    const key = keyOf(wf, 'debounce', flow.debounce.key, req.input)
    const recordKey = flowRecordKey('debounce', wf, key)
    const got = await readJson<Pointer>(store, recordKey)
    const held = got && (await runs.read(got.value.runId))
    const waiting = held !== undefined && held.record.status === 'pending' && held.record.pendingReason?.kind === 'debounce'
    const firstAt = waiting ? (got?.value.firstAt ?? now) : now
    const until = Math.min(now + periodMs, timeoutMs === undefined ? Number.POSITIVE_INFINITY : firstAt + timeoutMs)
    const reason: PendingReason = { kind: 'debounce', key, until }
    const expiresAt = until + periodMs
    if (waiting && held && got) {
      // The waiting run takes the latest input (and the state that input starts with); its start moves.
      const input = store.scrub(req.input)
      const c = redebounced(held.record, runs.ctx(), input, reason)
      c.record.state = await runs.initialState(wf, req.input)
      const pointer: WriteOp = { op: 'set', key: recordKey, value: store.encode(got.value, 'debounce'), ifVersion: got.version, expiresAt }
      const update = batchOf(c, store.encode(compact(c.record), `run "${c.record.id}"`), held.version, [pointer])
      return { kind: 'existing', runId: held.record.id, ops: [...ops, ...update], why: 'debounce', delayed: reason }
    }
    ops.push({
      op: 'set',
      key: recordKey,
      value: store.encode({ runId: req.runId, firstAt: now }, 'debounce'),
      ifVersion: got?.version ?? 0,
      expiresAt,
    })
    dueAt = until
    pendingReason = reason
  }

  for (const kind of ['rate', 'throttle'] as const) {
    const opt = kind === 'rate' ? flow?.rateLimit : flow?.throttle
    if (!opt) continue
    const key = keyOf(wf, kind === 'rate' ? 'rateLimit' : 'throttle', opt.key, req.input)
    const recordKey = flowRecordKey(kind, wf, key)
    const got = await readJson<number[]>(store, recordKey)
    const start = Math.max(now, dueAt ?? now)
    const { at, log } = reserveStart(got?.value ?? [], start, opt.limit, opt.periodMs)
    if (at > start && kind === 'rate') return { kind: 'dropped', error: new RateLimitedError(wf.id, key, opt.limit, opt.periodMs, at) }
    if (at > start) {
      dueAt = at
      pendingReason = { kind: 'throttle', key, limit: opt.limit, until: at }
    }
    const value = store.encode(log, kind)
    ops.push({ op: 'set', key: recordKey, value, ifVersion: got?.version ?? 0, expiresAt: (log[log.length - 1] ?? at) + opt.periodMs })
  }

  const { ops: createOps, record } = await runs.create(wf, req.input, req.runId, req.parent, req.runHere && dueAt === undefined, {
    priority: priorityOf(wf, req.input),
    schedule: req.schedule,
    pendingReason,
    dueAt,
    at: now,
  })
  return { kind: 'create', ops: [...ops, ...createOps], record, ...(pendingReason ? { delayed: pendingReason } : {}) }
}
