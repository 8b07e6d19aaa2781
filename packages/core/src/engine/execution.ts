import type { WriteOp } from '../datastore/types.js'
import { CancelledError, DoSdkError, NonDeterminismError, SizeLimitError, toError } from '../errors.js'
import { jsonSerializer } from '../serializer.js'
import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import { RunContext } from './contexts.js'
import type { ExecutionDeps } from './execution-deps.js'
import { keys } from './keys.js'
import { never } from './never.js'
import { compact, type JournalEntry, type RunRecord, type SignalRecord, type StepKind, toStoredError } from './records.js'
import { buildStep } from './steps.js'
import { SimulatedCrash } from './store.js'
import { cancelDeferredSend, deferSend, RunWriter } from './writer.js'

type Block = { until?: number; event?: string }

/**
 * One execution of one run in this process: replays the journal, runs new steps, commits each
 * step through its {@link RunWriter} (the journal entry, fenced by the run record's version; the
 * record itself when it changes), and ends by completing, failing, or suspending the run until its
 * next timer or event.
 * See ARCHITECTURE.md.
 */
export class Execution {
  readonly runId: string
  closed = false
  /** Suspending or ending: the last batch of this execution is queued. */
  private ending = false
  private readonly writer: RunWriter
  private markClosed!: () => void
  /** Settles when the execution closes, however it ends. */
  private readonly closedPromise = new Promise<void>((resolve) => {
    this.markClosed = resolve
  })
  /** Made on first use: most executions never hand out their signal. */
  private abortController: AbortController | undefined
  /** Latest entry per step id. */
  readonly journal = new Map<string, JournalEntry>()
  /** Step ids journaled but not yet reached by this replay. */
  readonly unconsumed = new Set<string>()
  private readonly counters = new Map<string, number>()
  private nextSeq = 0
  signals: { key: string; rec: SignalRecord }[] = []
  readonly consumedSignals = new Set<string>()
  state: Record<string, unknown> = {}
  private active = 0
  private readonly blocked: Block[] = []
  private tickQueued = false
  /** Set when a signal arrived for this run while it executed: re-run right after suspending. */
  wakeRequested = false
  private readonly startedAt: number

  constructor(
    readonly deps: ExecutionDeps,
    readonly workflow: Workflow,
    public record: RunRecord,
    version: number,
  ) {
    this.runId = record.id
    this.startedAt = deps.clock.now()
    this.writer = new RunWriter(
      deps.store,
      record.id,
      version,
      () => this.record,
      () => this.closed,
      (error) => this.abandon(error),
    )
  }

  /** The run record's version as last written: the fencing token. */
  get version(): number {
    return this.writer.version
  }

  get now() {
    return this.deps.clock.now()
  }

  /** Aborts the work of this execution's steps when it is cancelled or ends. */
  get controller(): AbortController {
    let c = this.abortController
    if (c === undefined) {
      c = new AbortController()
      this.abortController = c
      if (this.closed) c.abort(new CancelledError(`Execution of run "${this.runId}" ended`))
    }
    return c
  }

  /** True once the execution's signal is (or would be) aborted. */
  get aborted(): boolean {
    return this.closed || (this.abortController?.signal.aborted ?? false)
  }

  /** Loads the journal and the buffered signals, then runs the workflow function from the top. */
  async start(fresh = false): Promise<void> {
    const { store } = this.deps
    // A run this engine just created has an empty journal (its nonce is new). A signal sent to it in
    // the meantime is not lost: sending adds a due entry, which wakes the run after this pass.
    const [entries, sigs] = fresh
      ? [[], []]
      : await Promise.all([store.list(keys.journalPrefix(this.runId, this.record.nonce)), store.list(keys.signalPrefix(this.runId))])
    for (const item of entries) {
      const e = store.decode<JournalEntry>(item, item.key)
      this.journal.set(e.id, e)
      if (e.seq >= this.nextSeq) this.nextSeq = e.seq + 1
      if (e.signalKey) this.consumedSignals.add(e.signalKey)
    }
    for (const [id, e] of this.journal) {
      // After engine.retry, the failure that ended the run (and any after it) is tried again; failures
      // the workflow caught and handled before it stay as they were.
      const stale = e.status === 'failed' && e.gen < this.record.generation && e.seq >= (this.record.retryFromSeq ?? 0)
      if (!stale) this.unconsumed.add(id)
    }
    const leftovers: WriteOp[] = []
    for (const item of sigs) {
      if (this.consumedSignals.has(item.key)) leftovers.push({ op: 'delete', key: item.key })
      else this.signals.push({ key: item.key, rec: store.decode<SignalRecord>(item, item.key) })
    }
    if (leftovers.length) await store.batch(leftovers)
    const cancel = this.signals.find((s) => s.rec.name === '$cancel')
    if (cancel) {
      await this.cancel(String((cancel.rec.payload as { reason?: string } | undefined)?.reason ?? 'cancelled'), cancel.key)
      return
    }

    this.state = structuredClone(this.workflow.initialState(this.record.input) ?? {}) as Record<string, unknown>
    const base = this.eventBase()
    if (this.journal.size === 0 && this.record.steps === 0) {
      if (this.deps.hooks.has('workflow:start'))
        this.deps.hooks.emit('workflow:start', {
          ...base,
          input: this.record.input,
          ...(this.record.parent ? { parent: this.record.parent } : {}),
        })
    } else if (this.deps.hooks.has('workflow:resume')) {
      this.deps.hooks.emit('workflow:resume', { ...base, steps: this.journal.size, atStep: this.record.currentStep })
    }
    const log = this.deps.log
    let result: Promise<unknown>
    try {
      result = Promise.resolve(
        this.workflow.run(
          new RunContext(this, this.record.input, this.state, buildStep(this), this.runId, this.workflow.id, this.workflow.version, log),
        ),
      )
    } catch (e) {
      result = Promise.reject(e)
    }
    result.then(
      (output) => this.finish(output),
      (error) => this.failRun(error),
    )
  }

  eventBase() {
    return { runId: this.runId, workflowId: this.workflow.id, version: this.workflow.version, at: this.now }
  }

  /** Next step id for a base name: `name#1`, `name#2`, … in call order. */
  nextStepId(base: string): string {
    const n = (this.counters.get(base) ?? 0) + 1
    this.counters.set(base, n)
    return `${base}#${n}`
  }

  /** The journal's latest entry for `stepId`, checking that the code asks for the same kind of step. */
  replay(stepId: string, kind: StepKind): JournalEntry | undefined {
    const entry = this.journal.get(stepId)
    if (!entry || !this.unconsumed.has(stepId)) return undefined
    this.unconsumed.delete(stepId)
    if (entry.kind !== kind) {
      this.diverged(
        new NonDeterminismError(
          `Run "${this.runId}": step "${stepId}" was a ${entry.kind} step when the run started and is now a ${kind} step. The workflow code changed under an in-flight run; pin it with a new version.`,
          this.runId,
          stepId,
        ),
      )
    }
    return entry
  }

  /**
   * Before running a step that is not in the journal: let the replay of journaled steps settle,
   * then refuse if journaled steps remain that the code never reached (renamed, reordered, removed).
   * Returns nothing when there is nothing to wait for (the usual case: no extra turn).
   */
  ensureFresh(stepId: string): Promise<void> | undefined {
    if (this.closed) return never()
    if (this.unconsumed.size === 0) return undefined
    return this.settleReplay(stepId)
  }

  private async settleReplay(stepId: string): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    if (this.closed) await never()
    if (this.unconsumed.size === 0) return
    const expected = [...this.unconsumed].map((id) => this.journal.get(id) as JournalEntry).sort((a, b) => a.seq - b.seq)[0]
    await this.diverged(
      new NonDeterminismError(
        `Run "${this.runId}": the code reached step "${stepId}" where the journal has step "${expected?.id}" (renamed, reordered or removed). The run is stopped; deploy the old code under its version or retry it with fixed code.`,
        this.runId,
        stepId,
      ),
    )
  }

  private async diverged(error: NonDeterminismError): Promise<never> {
    await this.failRun(error, true)
    return never()
  }

  enter() {
    this.active++
  }

  leave() {
    this.active--
    if (this.active === 0 && this.blocked.length) this.queueTick()
  }

  /** Parks the calling step; once no step is running, the run suspends until the earliest wake-up. */
  block(b: Block): Promise<never> {
    this.blocked.push(b)
    this.queueTick()
    return never()
  }

  /**
   * At the end of this turn of the event loop: suspend the run if every step is parked (the
   * suspension carries the queued commits in its batch), otherwise send the queued commits.
   */
  private queueTick() {
    if (this.tickQueued) return
    this.tickQueued = true
    setImmediate(this.tick)
  }

  /**
   * The deferred send (`deferSend`): once the workflow code running now has gone as far as it can
   * without waiting (after the current microtasks). A next step sends the queued commits itself, a
   * suspension or the run's end carries them; this is for everything else (the workflow awaits
   * something else).
   */
  deferredFlush() {
    if (this.closed || this.ending) return
    // Every step parked: the suspension (queued for the end of this turn) takes the commits along.
    if (this.active === 0 && this.blocked.length) return
    void this.writer.flush()
  }

  /** Sends what is queued now (and drops the deferred send); resolves once durable. */
  private sendNow(): Promise<void> {
    cancelDeferredSend(this)
    return this.writer.flush()
  }

  private readonly tick = () => {
    this.tickQueued = false
    if (this.closed || this.ending) return
    if (this.active === 0 && this.blocked.length) void this.suspend()
    else void this.sendNow()
  }

  /** Size-checks an encoded value. */
  checkSize(encoded: string, limit: number, what: string) {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: short values need no count.
    if (encoded.length * 3 <= limit) return
    const bytes = Buffer.byteLength(encoded)
    if (bytes > limit) throw new SizeLimitError(`Run "${this.runId}": ${what} is ${bytes} bytes, over the limit of ${limit}`, bytes, limit)
  }

  /**
   * Commits a journal entry, with `extra` ops and `recordPatch` in the same batch (see {@link RunWriter}):
   * the run record is written only when its status or a patched field changes; otherwise its
   * version is checked. Resolves once durable. With `send: false` the entry waits until the end of
   * this turn, the next step, or the run's suspension or completion, and travels with it.
   */
  commit(
    entry: Omit<JournalEntry, 'seq' | 'gen' | 'at'>,
    recordPatch: Partial<RunRecord> = {},
    extra: WriteOp[] = [],
    send = true,
    /** `entry.value` as the serializer encoded it already (the step's result, see `settle`). */
    encodedValue?: string,
  ): Promise<void> {
    if (this.closed || this.ending) return never()
    const now = this.now
    const full: JournalEntry = { ...entry, seq: this.nextSeq, gen: this.record.generation, at: now }
    const encoded = this.encodeEntry(full, encodedValue)
    const key = keys.journal(this.runId, this.record.nonce, this.nextSeq++)
    const terminalEntry = full.status === 'done' || full.status === 'failed'
    const status = recordPatch.status ?? 'running'
    let changed = status !== this.record.status
    for (const _ in recordPatch) changed = true
    // Changed in place: a batch encodes the record as it is flushed, so no batch already flushed sees this.
    const record = changed ? Object.assign(this.record, recordPatch) : this.record
    record.status = status
    record.steps += terminalEntry ? 1 : 0
    record.currentStep = entry.id
    record.updatedAt = now
    this.journal.set(full.id, full)
    // The journal entry goes last: for stores without atomic batches it is the commit marker.
    const set: WriteOp = { op: 'set', key, value: encoded }
    const done = this.writer.queue(extra.length ? [...extra, set] : [set], changed)
    if (send) void this.sendNow()
    else deferSend(this)
    return done
  }

  /**
   * Encodes a journal entry. With the default serializer every field but `value` is a string, a
   * finite number or a plain error record, so it is plain JSON (`undefined` fields dropped, as
   * `compact` would); an already encoded value is spliced in, not encoded again.
   */
  private encodeEntry(full: JournalEntry, encodedValue: string | undefined): string {
    const { store } = this.deps
    if (store.serializer === jsonSerializer) {
      if (encodedValue !== undefined) {
        const { value: _value, ...rest } = full
        return `${JSON.stringify(rest).slice(0, -1)},"value":${encodedValue}}`
      }
      if (full.value === undefined) return JSON.stringify(full)
    }
    return store.encode(compact(full), `step "${full.id}"`)
  }

  /** Queues a change of the run record (with `ops`) and sends it at once; resolves once durable. */
  private writeRecord(ops: WriteOp[], record: RunRecord): Promise<void> {
    this.record = record
    const done = this.writer.queue(ops, true)
    void this.sendNow()
    return done
  }

  /**
   * Before a step starts work: the lease must still be ours, with a margin. A process that was paused
   * (GC, SIGSTOP) past its lease finds it expired here and renews it by compare-and-set; if another
   * engine took the run meanwhile, the renewal is refused and this execution ends, so a step another
   * process already committed is never started again.
   */
  ensureLease(): Promise<void> | undefined {
    if (this.now < (this.record.leaseUntil ?? 0) - this.deps.leaseMs / 4) return undefined
    return this.renewLease().then(() => (this.closed ? never() : undefined))
  }

  /**
   * What a step with effects waits for before its work: every earlier commit of the run durable,
   * and the lease (see {@link ensureLease}). Nothing to wait for (the usual case) returns nothing.
   */
  beforeWork(): Promise<void> | undefined {
    if (!this.writer.settled) return this.sendNow().then(() => this.ensureLease())
    return this.ensureLease()
  }

  /** Extends the lease and moves the run's due entry to the new expiry. */
  renewLease(): Promise<void> {
    if (this.closed || this.ending) return Promise.resolve()
    const leaseUntil = this.now + this.deps.leaseMs
    const dueKey = keys.due(leaseUntil, this.runId)
    const ops: WriteOp[] = [{ op: 'set', key: dueKey, value: 'run' }]
    if (this.record.dueKey && this.record.dueKey !== dueKey) ops.unshift({ op: 'delete', key: this.record.dueKey })
    return this.writeRecord(ops, { ...this.record, leaseUntil, dueKey })
  }

  private async suspend() {
    const wakeAt = this.blocked.reduce<number | undefined>(
      (min, b) => (b.until !== undefined && (min === undefined || b.until < min) ? b.until : min),
      undefined,
    )
    const events = [...new Set(this.blocked.flatMap((b) => (b.event ? [b.event] : [])))]
    const status = events.length ? 'waiting' : 'sleeping'
    this.ending = true
    const ops: WriteOp[] = []
    if (this.record.dueKey) ops.push({ op: 'delete', key: this.record.dueKey })
    const dueKey = wakeAt === undefined ? undefined : keys.due(wakeAt, this.runId)
    if (dueKey) ops.push({ op: 'set', key: dueKey, value: 'run' })
    await this.writeRecord(ops, {
      ...this.record,
      status,
      wakeAt,
      waitingFor: events.length ? events : undefined,
      owner: undefined,
      leaseUntil: undefined,
      dueKey,
      updatedAt: this.now,
    })
    this.close()
    if (this.deps.hooks.has('workflow:suspend')) {
      this.deps.hooks.emit('workflow:suspend', { ...this.eventBase(), status, wakeAt, waitingFor: events })
    }
    this.deps.onEnd(this, 'suspended')
  }

  private async finish(output: unknown) {
    if (this.closed) return
    if (this.unconsumed.size > 0) {
      const id = [...this.unconsumed][0] as string
      return this.diverged(
        new NonDeterminismError(
          `Run "${this.runId}": the code finished without reaching journaled step "${id}" (a step was removed).`,
          this.runId,
          id,
        ),
      )
    }
    let value: unknown
    try {
      value = await parseWith(this.workflow.outputSchema, output, `output of workflow "${this.workflow.id}"`)
      const encoded = this.deps.store.encode(this.deps.store.scrub(value), `output of run "${this.runId}"`)
      this.checkSize(encoded, this.deps.limits.stepBytes, 'the output')
      value = this.deps.store.serializer.decode(encoded)
    } catch (error) {
      return this.failRun(error)
    }
    await this.end('completed', { output: value })
    if (this.deps.hooks.has('workflow:complete')) {
      this.deps.hooks.emit('workflow:complete', { ...this.eventBase(), output: value, durationMs: this.now - this.record.createdAt })
    }
  }

  /** Fails the run (uncaught error in the workflow, or a non-determinism). */
  async failRun(error: unknown, force = false): Promise<void> {
    if (this.closed || error instanceof SimulatedCrash) return
    if (!force && (DoSdkError.hasCode(error, 'ERR_LEASE_LOST') || DoSdkError.hasCode(error, 'ERR_STORE'))) return this.abandon(error)
    const err = toError(error)
    await this.end('failed', { error: toStoredError(err, false) })
    if (this.deps.hooks.has('workflow:fail')) this.deps.hooks.emit('workflow:fail', { ...this.eventBase(), error: err })
  }

  /** Cancels the run: aborts running actions, records `cancelled`, cancels children. */
  /** Resolves `true` when this execution recorded the cancellation, `false` when it had already ended. */
  async cancel(reason: string, signalKey?: string): Promise<boolean> {
    if (this.closed) return false
    this.controller.abort(new CancelledError(`Run "${this.runId}" was cancelled: ${reason}`))
    const extra: WriteOp[] = []
    if (signalKey) extra.push({ op: 'delete', key: signalKey })
    const children = [...this.journal.values()].filter((e) => e.kind === 'invoke' && e.status === 'started' && e.childId)
    if (!(await this.end('cancelled', { error: { name: 'CancelledError', message: reason, code: 'ERR_CANCELLED' } }, extra))) return false
    for (const child of children)
      await this.deps.cancelRun(child.childId as string, `parent run "${this.runId}" was cancelled`).catch(() => {})
    if (this.deps.hooks.has('workflow:cancel')) this.deps.hooks.emit('workflow:cancel', { ...this.eventBase(), reason })
    return true
  }

  /** Records the end of the run; resolves `false` when the execution had already ended (nothing written). */
  private async end(status: 'completed' | 'failed' | 'cancelled', patch: Partial<RunRecord>, extra: WriteOp[] = []): Promise<boolean> {
    this.closedForSteps = true
    if (this.closed || this.ending) {
      // A suspension or another ending is on its way: this one writes nothing.
      await this.closedPromise
      return false
    }
    this.ending = true
    const now = this.now
    const expiresAt = now + this.deps.retentionMs
    const ops: WriteOp[] = [...extra]
    if (this.record.dueKey) ops.push({ op: 'delete', key: this.record.dueKey })
    const gcKey = keys.due(expiresAt, this.runId)
    ops.push({ op: 'set', key: gcKey, value: 'gc' })
    const parent = this.record.parent
    if (parent) {
      const sigKey = keys.signal(parent.runId, now, 0, `c${this.record.nonce}`)
      const payload = { status, output: patch.output, error: patch.error }
      ops.push({
        op: 'set',
        key: sigKey,
        value: this.deps.store.encode({ name: `$child:${parent.stepId}`, payload, sentAt: now }, 'child result'),
      })
      ops.push({ op: 'set', key: keys.due(now, parent.runId), value: 'run' })
    }
    await this.writeRecord(ops, {
      ...this.record,
      ...patch,
      status,
      owner: undefined,
      leaseUntil: undefined,
      wakeAt: undefined,
      waitingFor: undefined,
      dueKey: gcKey,
      finishedAt: now,
      expiresAt,
      updatedAt: now,
    })
    this.close()
    this.deps.onEnd(this, status)
    return true
  }

  /** True once the run is ending: new steps park instead of running. */
  closedForSteps = false

  /** Drops this execution without writing (store down, lease lost, engine dead); another pass resumes the run. */
  abandon(error: unknown) {
    if (this.closed) return
    this.close()
    if (!(error instanceof SimulatedCrash)) {
      const err = toError(error)
      this.deps.log.warn(`Run "${this.runId}" paused: ${err.message}`)
      if (this.deps.hooks.has('error')) this.deps.hooks.emit('error', { source: 'execution', error: err, runId: this.runId })
    }
    this.deps.onEnd(this, 'abandoned')
  }

  private close() {
    this.closed = true
    cancelDeferredSend(this)
    this.markClosed()
    this.blocked.length = 0
    const c = this.abortController
    if (c && !c.signal.aborted) c.abort(new CancelledError(`Execution of run "${this.runId}" ended`))
  }

  /** Takes the earliest unconsumed signal named `name` sent no later than `deadline`. */
  takeSignal(name: string, deadline?: number): { key: string; rec: SignalRecord } | undefined {
    const i = this.signals.findIndex(
      (s) => s.rec.name === name && !this.consumedSignals.has(s.key) && (deadline === undefined || s.rec.sentAt <= deadline),
    )
    if (i < 0) return undefined
    const sig = this.signals[i] as { key: string; rec: SignalRecord }
    this.consumedSignals.add(sig.key)
    return sig
  }

  /** The run is being stopped (engine.stop): new steps park the run for another engine, due at once. */
  get stopping() {
    return this.deps.isStopping()
  }

  blockForStop(): Promise<never> {
    return this.block({ until: this.now })
  }

  durationSince(start: number) {
    return this.now - start
  }

  get elapsed() {
    return this.now - this.startedAt
  }
}
