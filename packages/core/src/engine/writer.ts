import type { WriteOp } from '../datastore/types.js'
import { LeaseLostError } from '../errors.js'
import { keys } from './keys.js'
import { compact, type RunRecord } from './records.js'
import type { EngineStore } from './store.js'

interface Pending {
  ops: WriteOp[]
  /** Deletions of consumed signals: applied after the entries that record their consumption. */
  late: WriteOp[]
  /** The run record changed: write it with the ops (otherwise its version is only checked). */
  recordChanged: boolean
  done: Promise<void>
  resolve: () => void
}

/**
 * The write path of one execution. Commits are queued and sent as one atomic batch, fenced by
 * the run record's version (the lease's fencing token): a batch that changes the record writes
 * it with `ifVersion`, last (the commit marker for stores without atomic batches); a batch that
 * only adds journal entries asserts the version with a `check` op and leaves the record alone.
 *
 * Order inside a batch, for stores that apply ops one by one (no atomic batch) and may stop midway:
 * new data first (user values, child results, due entries), then the journal entries, then the run
 * record, then the deletions of the signals those entries consumed. Stopped anywhere, the journal
 * never says a step is done whose writes are missing, and no signal is gone unless an entry holds it
 * (an execution deletes consumed signals it finds left over).
 *
 * Batches go out one after the other. Whatever is queued when a batch is sent goes into it, so a
 * step's journal entry and the run's completion or suspension travel together when they are
 * queued in the same turn. A batch the store refuses (lease lost) or fails calls `onFail` and its
 * promise never settles: the execution is dropped, and whatever waited on it with it.
 */
export class RunWriter {
  private pending: Pending | undefined
  private chain: Promise<void> = Promise.resolve()
  private last: Promise<void> = Promise.resolve()
  /** Batches sent and not yet acknowledged. */
  private inFlight = 0

  constructor(
    private readonly store: EngineStore,
    private readonly runId: string,
    /** The version of the run record as last written (the fencing token). */
    public version: number,
    /** The run record to write, as it is when a batch is sent. */
    private readonly currentRecord: () => RunRecord,
    private readonly isClosed: () => boolean,
    private readonly onFail: (error: unknown) => void,
  ) {}

  /** Queues ops for the next batch; resolves once they are durable. Nothing is sent before {@link flush}. */
  queue(ops: WriteOp[], recordChanged: boolean): Promise<void> {
    let p = this.pending
    if (p === undefined) {
      let resolve!: () => void
      const done = new Promise<void>((r) => {
        resolve = r
      })
      p = { ops: [], late: [], recordChanged: false, done, resolve }
      this.pending = p
    }
    for (const op of ops) (op.op === 'delete' && op.key.startsWith(keys.signalsPrefix) ? p.late : p.ops).push(op)
    if (recordChanged) p.recordChanged = true
    return p.done
  }

  /** True when everything queued is durable (nothing queued, nothing in flight). */
  get settled(): boolean {
    return this.pending === undefined && this.inFlight === 0
  }

  /** Sends what is queued; resolves once everything queued so far is durable. */
  flush(): Promise<void> {
    const p = this.pending
    if (p === undefined) return this.last
    this.pending = undefined
    // The record is encoded now: later changes belong to later batches.
    let record: string | undefined
    try {
      record = p.recordChanged ? this.store.encode(compact(this.currentRecord()), `run "${this.runId}"`) : undefined
    } catch (error) {
      this.onFail(error)
      return p.done
    }
    const send = () => this.send(p, record)
    this.inFlight++
    this.chain = this.chain.then(send, send)
    this.last = p.done
    return p.done
  }

  private async send(p: Pending, record: string | undefined): Promise<void> {
    if (this.isClosed()) return
    const runKey = keys.run(this.runId)
    const ops: WriteOp[] =
      record === undefined
        ? [{ op: 'check', key: runKey, ifVersion: this.version }, ...p.ops, ...p.late]
        : [...p.ops, { op: 'set', key: runKey, value: record, ifVersion: this.version }, ...p.late]
    let res: Awaited<ReturnType<EngineStore['batch']>>
    try {
      res = await this.store.batch(ops)
    } catch (error) {
      this.onFail(error)
      return
    }
    if (!res.ok) {
      this.onFail(new LeaseLostError(`Run "${this.runId}": commit refused, another engine owns the run now (lease lost)`, this.runId))
      return
    }
    if (record !== undefined) this.version = res.versions[p.ops.length] as number
    this.inFlight--
    p.resolve()
  }
}

/** What the deferred send calls back. */
interface DeferredTarget {
  deferredFlush(): void
}

/**
 * Executions with commits waiting for the deferred send. One `process.nextTick` serves them all,
 * and an execution leaves the set as soon as it sends by other means: code that never lets the
 * microtask queue drain (a loop over an in-memory store) cannot pile up callbacks holding
 * executions that have long ended.
 */
const deferred = new Set<DeferredTarget>()
let deferredScheduled = false

const flushDeferred = () => {
  deferredScheduled = false
  for (const target of deferred) {
    deferred.delete(target)
    target.deferredFlush()
  }
}

/** Calls `target.deferredFlush()` once the current microtasks have run. */
export const deferSend = (target: DeferredTarget) => {
  deferred.add(target)
  if (deferredScheduled) return
  deferredScheduled = true
  process.nextTick(flushDeferred)
}

/** Drops a pending deferred send (the target sent, or ended, by other means). */
export const cancelDeferredSend = (target: DeferredTarget) => {
  deferred.delete(target)
}
