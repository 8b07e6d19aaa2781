import type { BatchResult, WriteOp } from '../datastore/types.js'
import { DoSdkError } from '../errors.js'
import { keys } from './keys.js'
import type { RunRecord } from './records.js'
import { SimulatedCrash } from './store.js'

/** One part of a commit: what a step, a transition or a signal binding adds to the next batch. */
export interface CommitPart {
  /** New data, applied before the journal: step effects, new due and index entries, child runs, signals to others. */
  put?: WriteOp[]
  /** The journal entry (a `set`). */
  journal?: WriteOp
  /** Applied after the record: old due and index entries, consumed signals. */
  drop?: WriteOp[]
  /** The run record changed: write it (otherwise the batch only checks its version). */
  record?: boolean
  /** A child run created by this part (`put` holds its record): if it exists already, it is ours from an earlier try. */
  child?: { runId: string; ops: WriteOp[] }
  /** The run lets go of its inbox marker (it suspends or ends): deleted if no signal came since it was read. */
  clearInbox?: boolean
  /**
   * This part suspends the run. If a signal arrives before it is written, `withdraw` is asked
   * (after the signals are reloaded) whether to take the suspension back: then its ops leave the
   * batch and the rest is sent, and the run goes on with the signal instead.
   */
  suspension?: { withdraw(): boolean; inboxVersion: number }
  /** Called, in queue order, once the part is durable. */
  onDurable?: () => void
}

interface Batch {
  put: WriteOp[]
  journal: WriteOp[]
  drop: WriteOp[]
  record: RunRecord | undefined
  /** A part other than the suspension changed the record. */
  recordByOthers: boolean
  clearInbox: boolean
  suspension?: { put: WriteOp[]; drop: WriteOp[]; withdraw(): boolean; inboxVersion: number }
  children: Map<string, WriteOp[]>
  callbacks: (() => void)[]
  done: Promise<void>
  resolve: () => void
}

/** What the writer needs from the execution it writes for. */
export interface WriterHost {
  readonly runId: string
  /** The run record as it is now (captured when a batch is cut). */
  currentRecord(): RunRecord
  encodeRecord(record: RunRecord): string
  /** The run's record moved under us: another engine owns the run now. */
  leaseLost(): void
  /** The inbox marker moved (a signal arrived): reload the signals and the marker's version. */
  reloadInbox(): Promise<void>
  /** A child run of ours already exists (an earlier try wrote it): true to go on without creating it. */
  childExists(runId: string): Promise<boolean>
  /** A failed send may be tried again: the execution is alive and its lease has not run out. */
  canRetry(): boolean
  /** A batch could not be written and will not be retried. */
  failed(error: unknown): void
  /** Waits `ms` on the engine's clock (backoff between tries). */
  sleep(ms: number): Promise<void>
  send(ops: WriteOp[]): Promise<BatchResult>
}

const newBatch = (): Batch => {
  let resolve!: () => void
  const done = new Promise<void>((r) => {
    resolve = r
  })
  return {
    put: [],
    journal: [],
    drop: [],
    record: undefined,
    recordByOthers: false,
    clearInbox: false,
    children: new Map(),
    callbacks: [],
    done,
    resolve,
  }
}

/**
 * The write path of one execution. Parts are queued and sent as one batch, fenced by the run
 * record's version (the lease's fencing token) and by the version of the run's inbox marker, in
 * the order stores without atomic batches rely on: checks, new data, journal entries, the record,
 * deletions. Batches go out one after the other; whatever is queued when a batch is cut goes into
 * it, so a step's entry travels with the suspension or the end queued in the same turn.
 *
 * A batch the store refuses because the inbox moved is sent again after the signals are reloaded;
 * one that fails (store down) is sent again with backoff while the lease holds, so a hiccup never
 * drops an execution whose steps are in flight. A refusal on the run record means another engine
 * owns the run: the execution is told and the batch's promise never settles.
 */
export class RunWriter {
  private pending: Batch | undefined
  private chain: Promise<void> = Promise.resolve()
  private last: Promise<void> = Promise.resolve()
  private inFlight = 0
  private stopped = false
  /** Batches not yet acknowledged (queued or sent). */
  private readonly open = new Set<Batch>()

  constructor(
    private readonly host: WriterHost,
    /** The version of the run record as last written. */
    public version: number,
    /** The version of the run's inbox marker as last read (0: absent). */
    public inboxVersion: number,
  ) {}

  /** Queues a part for the next batch; resolves once it is durable. Nothing is sent before {@link flush}. */
  queue(part: CommitPart): Promise<void> {
    if (this.pending === undefined) {
      this.pending = newBatch()
      this.open.add(this.pending)
    }
    const b = this.pending
    if (part.child) b.children.set(part.child.runId, part.child.ops)
    if (part.journal) b.journal.push(part.journal)
    if (part.suspension) b.suspension = { put: part.put ?? [], drop: part.drop ?? [], ...part.suspension }
    else {
      if (part.put) for (const op of part.put) b.put.push(op)
      if (part.drop) for (const op of part.drop) b.drop.push(op)
      if (part.record) b.recordByOthers = true
    }
    if (part.record) b.record = this.host.currentRecord()
    if (part.clearInbox) b.clearInbox = true
    if (part.onDurable) b.callbacks.push(part.onDurable)
    return b.done
  }

  /** True when everything queued is durable. */
  get settled(): boolean {
    return this.pending === undefined && this.inFlight === 0
  }

  /** True when parts wait to be sent. */
  get hasPending(): boolean {
    return this.pending !== undefined
  }

  /** Sends what is queued; resolves once everything queued so far is durable. */
  flush(): Promise<void> {
    const b = this.pending
    if (b === undefined) return this.last
    this.pending = undefined
    // A record change queued earlier is superseded by the latest one: the record is written whole.
    if (b.record !== undefined) b.record = this.host.currentRecord()
    this.inFlight++
    const send = () => this.send(b)
    this.chain = this.chain.then(send, send)
    this.last = b.done
    return b.done
  }

  /**
   * No more sends (the execution closed). Whatever waits on an unsent batch is let go (without the
   * batch's callbacks: nothing became durable), so a step waiting to start finds the execution
   * closed and returns instead of holding it open for ever.
   */
  stop() {
    this.stopped = true
    this.pending = undefined
    for (const b of this.open) b.resolve()
    this.open.clear()
  }

  /** Checks, new data, journal entries, the record, deletions (see the class comment); the index of the record op. */
  private ops(b: Batch, encodedRecord: string | undefined): { ops: WriteOp[]; recordAt: number } {
    const runKey = keys.run(this.host.runId)
    const inboxKey = keys.inbox(this.host.runId)
    // A suspension is fenced by the inbox as it was when the run decided to suspend: a signal read
    // since (its version already ours) must still take the suspension back.
    const inboxVersion = b.suspension ? b.suspension.inboxVersion : this.inboxVersion
    const ops: WriteOp[] = [{ op: 'check', key: inboxKey, ifVersion: inboxVersion }]
    if (encodedRecord === undefined) ops.push({ op: 'check', key: runKey, ifVersion: this.version })
    for (const op of b.put) ops.push(op)
    if (b.suspension) for (const op of b.suspension.put) ops.push(op)
    for (const op of b.journal) ops.push(op)
    const recordAt = ops.length
    if (encodedRecord !== undefined) ops.push({ op: 'set', key: runKey, value: encodedRecord, ifVersion: this.version })
    for (const op of b.drop) ops.push(op)
    if (b.suspension) for (const op of b.suspension.drop) ops.push(op)
    // The marker goes last: a store that stops midway still shows unread signals to the scheduler.
    if (b.clearInbox && inboxVersion > 0) ops.push({ op: 'delete', key: inboxKey })
    return { ops, recordAt }
  }

  private async send(b: Batch): Promise<void> {
    for (let failures = 0; ; ) {
      if (this.stopped) return
      let again: boolean
      try {
        again = await this.attempt(b)
      } catch (error) {
        if (error instanceof SimulatedCrash || (DoSdkError.isInstance(error) && error.code !== 'ERR_STORE')) {
          this.host.failed(error)
          return
        }
        failures++
        if (!this.host.canRetry()) {
          this.host.failed(error)
          return
        }
        await this.host.sleep(Math.min(5_000, 25 * 2 ** Math.min(failures, 8)))
        continue
      }
      if (!again) return
    }
  }

  /** Sends the batch once; true when it must be sent again (a signal came, a child existed). Store failures throw. */
  private async attempt(b: Batch): Promise<boolean> {
    let encoded: string | undefined
    try {
      encoded = b.record === undefined ? undefined : this.host.encodeRecord(b.record)
    } catch (error) {
      this.host.failed(error)
      return false
    }
    const { ops, recordAt } = this.ops(b, encoded)
    const res = await this.host.send(ops)
    if (res.ok) {
      if (encoded !== undefined) this.version = res.versions[recordAt] as number
      if (b.clearInbox) this.inboxVersion = 0
      this.inFlight--
      this.open.delete(b)
      b.resolve()
      for (const fn of b.callbacks) fn()
      return false
    }
    if (this.stopped) return false
    if (res.conflictKey === keys.inbox(this.host.runId)) {
      await this.host.reloadInbox()
      if (b.suspension?.withdraw()) {
        b.suspension = undefined
        b.clearInbox = false
        b.record = b.recordByOthers ? this.host.currentRecord() : undefined
      }
      return true
    }
    const child = [...b.children].find(([runId]) => keys.run(runId) === res.conflictKey)
    if (child && (await this.host.childExists(child[0]))) {
      const drop = new Set(child[1])
      b.put = b.put.filter((op) => !drop.has(op))
      b.children.delete(child[0])
      return true
    }
    this.host.leaseLost()
    return false
  }
}
