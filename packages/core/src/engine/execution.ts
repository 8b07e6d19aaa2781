import type { WriteOp } from '../datastore/types.js'
import { CancelledError, InvalidArgumentError, LeaseLostError, type NonDeterminismError, SizeLimitError, toError } from '../errors.js'
import { jsonSerializer } from '../serializer.js'
import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import { RunContext } from './contexts.js'
import type { ExecutionDeps, ExecutionOutcome } from './execution-deps.js'
import { childSignal, Inbox } from './inbox.js'
import { keys } from './keys.js'
import { Parking } from './parking.js'
import { Quiescence } from './quiescence.js'
import { compact, fromStoredError, type JournalEntry, type RunRecord, type SignalRecord, toStoredError } from './records.js'
import { ReplayCursor } from './replay-cursor.js'
import { stepEvent } from './steps/attempts.js'
import { buildStep } from './steps/build.js'
import type { Outcome, StepCall, StepHost } from './steps/types.js'
import { SimulatedCrash } from './store.js'
import { type Change, type Ending, ended, released, renewed, signalOps, suspended } from './transitions.js'
import { type CommitPart, RunWriter } from './writer.js'

/** Where an execution is. One field, so "is it over" has one answer. */
type Phase = 'loading' | 'replaying' | 'live' | 'suspending' | 'ending' | 'closed'

const PAGE = 1_000

/**
 * One execution of one run in this process. It replays the journal (results handed to the code
 * one per quiet point, in journal order: `replay-cursor.ts`), then runs new steps, whose results
 * are handed over the same way and journaled in that order; commits go through its
 * {@link RunWriter}; it ends by completing, failing, being cancelled, suspending until its next
 * timer or signal, or letting the run go (engine stopping). See ARCHITECTURE.md.
 */
export class Execution implements StepHost {
  readonly runId: string
  private phase: Phase = 'loading'
  private readonly writer: RunWriter
  private readonly quiet = new Quiescence(() => this.onQuiet())
  private cursor: ReplayCursor
  private inbox = new Inbox(new Set())
  private readonly parking = new Parking()
  /** Steps asked for whose result the code has not been handed yet. */
  private readonly calls = new Map<string, StepCall>()
  private deferredStarts: { call: StepCall; entry: JournalEntry | undefined }[] = []
  private readonly outcomes: Outcome[] = []
  private readonly counters = new Map<string, number>()
  private requests = 0
  private delivered = 0
  private active = 0
  private lastFailedSeq: number | undefined
  private settledWith: { output: unknown } | { error: unknown } | undefined
  private cancelRequest: { reason: string; key?: string } | undefined
  private readonly children = new Set<string>()
  private abortController: AbortController | undefined
  private cancelTimer: (() => void) | undefined
  private reloading: Promise<void> | undefined
  private outcome: ExecutionOutcome | undefined
  private retired = false
  /** The lease as the store holds it (the record's own field runs ahead while a renewal is on its way). */
  private leaseUntil: number
  state: Record<string, unknown> = {}

  constructor(
    readonly deps: ExecutionDeps,
    readonly workflow: Workflow,
    public record: RunRecord,
    version: number,
  ) {
    this.runId = record.id
    this.leaseUntil = record.leaseUntil ?? Number.POSITIVE_INFINITY
    this.cursor = new ReplayCursor([], record)
    this.writer = new RunWriter(
      {
        runId: record.id,
        currentRecord: () => this.record,
        encodeRecord: (r) => deps.store.encode(compact(r), `run "${this.runId}"`),
        leaseLost: () =>
          this.abandon(new LeaseLostError(`Run "${this.runId}": commit refused, another engine owns the run now (lease lost)`, this.runId)),
        reloadInbox: () => this.reloadInbox(),
        childExists: (childId) => this.childExists(childId),
        canRetry: () => this.phase !== 'closed' && this.now < this.leaseUntil,
        failed: (error) => this.abandon(error),
        sleep: (ms) => this.sleep(ms),
        send: (ops) => deps.store.batch(ops),
      },
      version,
      0,
    )
  }

  get now(): number {
    return this.deps.clock.now()
  }

  get version(): number {
    return this.writer.version
  }

  get live(): boolean {
    return (this.phase === 'live' || this.phase === 'replaying') && !this.deps.isStopping()
  }

  get closed(): boolean {
    return this.phase === 'closed'
  }

  get controller(): AbortController {
    this.abortController ??= new AbortController()
    if (this.phase === 'closed' && !this.abortController.signal.aborted) this.abortController.abort(this.endedError())
    return this.abortController
  }

  get aborted(): boolean {
    return this.phase === 'closed' || this.phase === 'ending' || (this.abortController?.signal.aborted ?? false)
  }

  private endedError() {
    return new CancelledError(`Execution of run "${this.runId}" ended`)
  }

  /** Loads the journal and the buffered signals (unless the run was just created here), then runs the workflow from the top. */
  async start(fresh: boolean): Promise<void> {
    if (!fresh) {
      const [entries] = await Promise.all([this.listAll(keys.journalPrefix(this.runId, this.record.nonce)), this.reloadInbox()])
      this.cursor = new ReplayCursor(
        entries.map((e) => this.deps.store.decode<JournalEntry>(e, e.key)),
        this.record,
      )
      // Consumed signals an interrupted batch left behind are deleted with the next batch.
      const left = this.inbox.consumeAll(this.cursor.consumedSignals)
      if (left.length) this.writer.queue({ drop: left.map((key) => ({ op: 'delete', key })) })
      for (const id of this.cursor.childIds.values()) this.children.add(id)
    }
    if (this.phase !== 'loading') return
    const resumed = this.record.steps > 0 || this.cursor.nextSeq > 0
    const { hooks, log } = this.deps
    const base = { runId: this.runId, workflowId: this.workflow.id, version: this.workflow.version, at: this.now }
    if (!resumed) {
      log.debug(`Run "${this.runId}" of workflow "${this.workflow.id}" started`)
      if (hooks.has('workflow:start'))
        hooks.emit('workflow:start', { ...base, input: this.record.input, ...(this.record.parent ? { parent: this.record.parent } : {}) })
    } else {
      log.debug(`Run "${this.runId}" resumed (${this.cursor.steps} steps journaled)`)
      if (hooks.has('workflow:resume'))
        hooks.emit('workflow:resume', { ...base, steps: this.cursor.nextSeq, atStep: this.record.currentStep })
    }
    this.phase = 'replaying'
    if (this.inbox.cancelRequest()) {
      const c = this.inbox.cancelRequest()
      this.cancelRequest = { reason: String((c?.rec.payload as { reason?: string } | undefined)?.reason ?? 'cancelled'), key: c?.key }
      this.quiet.request()
      return
    }
    this.state = structuredClone(this.workflow.initialState(this.record.input) ?? {}) as Record<string, unknown>
    let result: Promise<unknown>
    try {
      const ctx = new RunContext(
        this,
        this.record.input,
        this.state,
        buildStep(this),
        this.runId,
        this.workflow.id,
        this.workflow.version,
        log,
      )
      result = Promise.resolve(this.workflow.run(ctx))
    } catch (e) {
      result = Promise.reject(e)
    }
    result.then(
      (output) => this.returned({ output }),
      (error) => this.returned({ error }),
    )
    this.quiet.request()
  }

  private returned(how: { output: unknown } | { error: unknown }) {
    if (this.settledWith) return
    this.settledWith = how
    this.quiet.request()
  }

  /** Reads every entry under a prefix, a page at a time (a long journal never comes in one call). */
  private async listAll(prefix: string) {
    const out = []
    for (let after: string | undefined; ; ) {
      const page = await this.deps.store.list(prefix, { after, limit: PAGE })
      out.push(...page)
      if (page.length < PAGE) return out
      after = page[page.length - 1]?.key
    }
  }

  // --- The quiet point: one thing happens to the code at a time ---------------------------------

  private onQuiet() {
    if (this.phase !== 'replaying' && this.phase !== 'live') return
    if (this.cancelRequest) return void this.cancel(this.cancelRequest.reason, this.cancelRequest.key)
    if (this.phase === 'replaying' && !this.replayNext()) return
    if (this.settledWith) return void this.conclude(this.settledWith)
    const outcome = this.outcomes.shift()
    if (outcome) {
      this.handOver(outcome)
      return this.quiet.request()
    }
    if (this.deps.isStopping()) {
      if (this.active === 0) void this.letGo()
      return
    }
    const event = this.parking.next(this.now, this.inbox)
    if (event) {
      event.run()
      return this.quiet.request()
    }
    if (this.active === 0 && this.parking.size > 0) return void this.suspend()
    // Steps are running (or the code awaits something that is not a step): send what is queued,
    // and come back when the earliest parked step is due.
    if (this.writer.hasPending) void this.writer.flush()
    this.armTimer()
  }

  /** During replay: hands over the next journaled result. False when the replay diverged or is still going. */
  private replayNext(): boolean {
    const head = this.cursor.peek()
    if (head) {
      const call = this.calls.get(head.id)
      if (!call || this.settledWith) {
        const found = [...this.calls.keys()].find((id) => !this.cursor.requested(id))
        this.diverged(this.settledWith ? this.cursor.divergence(head.id, undefined) : this.cursor.divergence(head.id, found))
        return false
      }
      this.cursor.advance()
      this.calls.delete(head.id)
      this.delivered++
      call.replayed?.(head)
      this.emitReplayed(head)
      if (head.status === 'failed') {
        this.lastFailedSeq = head.seq
        call.d.reject(fromStoredError(head.error ?? { name: 'Error', message: 'failed' }))
      } else call.d.resolve(head.value)
      this.quiet.request()
      return false
    }
    const unreached = this.cursor.firstUnrequested()
    if (unreached !== undefined) {
      const found = [...this.calls.keys()].find((id) => !this.cursor.requested(id))
      this.diverged(this.cursor.divergence(unreached, found))
      return false
    }
    this.phase = 'live'
    const starts = this.deferredStarts
    this.deferredStarts = []
    for (const { call, entry } of starts) if (this.live) call.start(entry)
    return true
  }

  private emitReplayed(e: JournalEntry) {
    const { hooks } = this.deps
    if (e.status === 'failed') {
      if (hooks.has('step:fail'))
        hooks.emit('step:fail', { ...stepEvent(this, e.id, e.kind, true), error: fromStoredError(e.error as never), durationMs: 0 })
    } else if (hooks.has('step:complete'))
      hooks.emit('step:complete', { ...stepEvent(this, e.id, e.kind, true), output: e.value, durationMs: 0 })
  }

  /** Hands a fresh result to the code and journals it, in that order (its position is its `seq`). */
  private handOver(o: Outcome) {
    const { call, entry } = o
    this.calls.delete(call.id)
    const seq = this.cursor.nextSeq++
    const full: JournalEntry = { ...entry, seq, gen: this.record.generation, at: this.now }
    if (o.patch) this.record = { ...this.record, ...o.patch }
    this.record.steps++
    this.record.currentStep = entry.id
    this.writer.queue({
      put: o.put,
      journal: { op: 'set', key: keys.journal(this.runId, this.record.nonce, seq), value: this.encodeEntry(full, o.encoded) },
      drop: o.drop,
      record: o.patch !== undefined,
      onDurable: o.durable,
    })
    if (entry.kind === 'invoke' && entry.childId && (entry.status === 'done' || entry.status === 'failed'))
      this.children.delete(entry.childId)
    this.delivered++
    o.apply?.()
    if (entry.status === 'failed') {
      this.lastFailedSeq = seq
      call.d.reject(o.error ?? fromStoredError(entry.error ?? { name: 'Error', message: 'failed' }))
    } else call.d.resolve(entry.value)
  }

  /**
   * Encodes a journal entry. With the default serializer every field but `value` is plain JSON; an
   * already encoded value is spliced in, not encoded again.
   */
  private encodeEntry(full: JournalEntry, encodedValue: string | undefined): string {
    const { store } = this.deps
    if (store.serializer === jsonSerializer) {
      const plain = compact(full)
      if (encodedValue !== undefined) {
        const { value: _value, ...rest } = plain
        return `${JSON.stringify(rest).slice(0, -1)},"value":${encodedValue}}`
      }
      if (full.value === undefined) return JSON.stringify(plain)
    }
    return store.encode(compact(full), `step "${full.id}"`)
  }

  private armTimer() {
    this.cancelTimer?.()
    this.cancelTimer = undefined
    const at = this.parking.wakeAt()
    if (at === undefined) return
    this.cancelTimer = this.deps.clock.setTimer(() => this.quiet.request(), Math.max(0, at - this.now))
  }

  // --- StepHost ---------------------------------------------------------------------------------

  nextStepId(base: string): string {
    const n = (this.counters.get(base) ?? 0) + 1
    this.counters.set(base, n)
    return `${base}#${n}`
  }

  request(call: StepCall): void {
    call.activation = this.delivered
    call.order = this.requests++
    let entry: JournalEntry | undefined
    try {
      entry = this.cursor.request(call.id, call.kind, call.hash)
    } catch (error) {
      this.diverged(error as NonDeterminismError)
      return
    }
    this.calls.set(call.id, call)
    if (entry && (entry.status === 'done' || entry.status === 'failed')) return
    if (this.phase === 'replaying' || this.phase === 'loading') this.deferredStarts.push({ call, entry })
    else if (this.live) call.start(entry)
  }

  deliver(outcome: Outcome): void {
    if (this.phase === 'closed' || this.phase === 'ending') return
    this.outcomes.push(outcome)
    this.quiet.request()
  }

  note(entry: Omit<JournalEntry, 'seq' | 'gen' | 'at'>, part: CommitPart = {}): Promise<void> {
    const seq = this.cursor.nextSeq++
    const full: JournalEntry = { ...entry, seq, gen: this.record.generation, at: this.now }
    if (entry.childId) this.children.add(entry.childId)
    this.record.currentStep = entry.id
    return this.writer.queue({
      ...part,
      journal: { op: 'set', key: keys.journal(this.runId, this.record.nonce, seq), value: this.encodeEntry(full, undefined) },
    })
  }

  flush(): Promise<void> {
    return this.writer.flush()
  }

  beforeWork(): Promise<void> | undefined {
    if (!this.writer.settled) return this.writer.flush().then(() => this.ensureLease())
    return this.ensureLease()
  }

  /**
   * A lease within a quarter of its length of running out (as after a GC pause or a SIGSTOP) is
   * renewed before a step does any work; if another engine took the run meanwhile the renewal is
   * refused and this execution ends, so a step another process committed is never started again.
   */
  private ensureLease(): Promise<void> | undefined {
    if (this.now < this.leaseUntil - this.deps.leaseMs / 4) return undefined
    return this.renew()
  }

  /** Extends the lease (and moves the takeover timer with it); resolves once durable. */
  renew(): Promise<void> {
    if (this.phase !== 'live' && this.phase !== 'replaying') return Promise.resolve()
    const c = renewed(this.record, this.ctx())
    const until = c.record.leaseUntil as number
    // The lease counts from when the renewal is durable: until then, others still see the old one.
    this.apply(c, { onDurable: () => (this.leaseUntil = Math.max(this.leaseUntil, until)) })
    return this.writer.flush()
  }

  park(p: Parameters<StepHost['park']>[0]): void {
    this.parking.add(p)
    this.quiet.request()
  }

  unpark(id: string): void {
    this.parking.remove(id)
  }

  enter(): void {
    this.active++
  }

  leave(): void {
    this.active--
    if (this.phase === 'closed') this.retire()
    else if (this.active === 0) this.quiet.request()
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimer(resolve, ms))
  }

  settle(stepId: string, value: unknown): { value: unknown; encoded: string } {
    const { store } = this.deps
    const encoded = store.encode(store.scrub(value), `result of step "${stepId}"`)
    this.checkSize(encoded, this.deps.limits.stepBytes, `the result of step "${stepId}"`)
    return { value: store.serializer.decode(encoded), encoded }
  }

  checkSize(encoded: string, limit: number, what: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: short values need no count.
    if (encoded.length * 3 <= limit) return
    const bytes = Buffer.byteLength(encoded)
    if (bytes > limit) throw new SizeLimitError(`Run "${this.runId}": ${what} is ${bytes} bytes, over the limit of ${limit}`, bytes, limit)
  }

  childOf(stepId: string): string | undefined {
    return this.cursor.childIds.get(stepId)
  }

  readonly parentRef = (stepId: string) => ({ runId: this.runId, stepId, nonce: this.record.nonce })

  private async childExists(childId: string): Promise<boolean> {
    const got = await this.deps.store.get(keys.run(childId))
    if (!got) return false
    const child = this.deps.store.decode<RunRecord>(got, keys.run(childId))
    return child.parent?.runId === this.runId && child.parent.nonce === this.record.nonce
  }

  // --- Signals ------------------------------------------------------------------------------------

  /** A signal reached this run while it executes here: read the inbox again (a failed read is tried at the next commit, which the new marker refuses). */
  signalled(): void {
    this.reloadInbox().catch(() => {})
  }

  /** Reads the inbox marker's version, then the buffered signals (in that order, so a signal sent in between moves the marker past what we hold). */
  reloadInbox(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const marker = await this.deps.store.get(keys.inbox(this.runId))
        const items = await this.listAll(keys.signalPrefix(this.runId, this.record.nonce))
        this.inbox.merge(items.map((i) => ({ key: i.key, rec: this.deps.store.decode<SignalRecord>(i, i.key) })))
        this.writer.inboxVersion = marker?.version ?? 0
        const cancel = this.inbox.cancelRequest()
        if (cancel && !this.cancelRequest)
          this.cancelRequest = {
            reason: String((cancel.rec.payload as { reason?: string } | undefined)?.reason ?? 'cancelled'),
            key: cancel.key,
          }
      } finally {
        this.reloading = undefined
      }
      this.quiet.request()
    })()
    return this.reloading
  }

  // --- Ends ---------------------------------------------------------------------------------------

  private ctx() {
    const { engineId, leaseMs, retentionMs } = this.deps
    return { now: this.now, engineId, leaseMs, retentionMs }
  }

  /** Takes a change of the record: it becomes the record, its ops go with the next batch. */
  private apply(c: Change, part: CommitPart = {}): Promise<void> {
    this.record = c.record
    return this.writer.queue({ ...part, put: [...c.put, ...(part.put ?? [])], drop: [...c.drop, ...(part.drop ?? [])], record: true })
  }

  private async suspend() {
    const before = this.record
    this.phase = 'suspending'
    const wakeAt = this.parking.wakeAt()
    const waitingFor = this.parking.waitingFor()
    let withdrawn = false
    const durable = this.apply(suspended(before, this.ctx(), wakeAt, waitingFor), {
      clearInbox: true,
      suspension: {
        inboxVersion: this.writer.inboxVersion,
        // A signal came while the suspension was on its way: take it back and go on with the signal.
        withdraw: () => {
          if (this.phase !== 'suspending') return false
          withdrawn = true
          this.record = { ...before, steps: this.record.steps, currentStep: this.record.currentStep }
          this.phase = 'live'
          this.quiet.request()
          return true
        },
      },
    })
    void this.writer.flush()
    await durable
    if (withdrawn || this.phase !== 'suspending') return
    this.close('suspended')
    const { hooks, log } = this.deps
    log.debug(`Run "${this.runId}" suspended (${this.record.status}${wakeAt ? ` until ${new Date(wakeAt).toISOString()}` : ''})`)
    if (hooks.has('workflow:suspend'))
      hooks.emit('workflow:suspend', {
        runId: this.runId,
        workflowId: this.workflow.id,
        version: this.workflow.version,
        at: this.now,
        status: this.record.status,
        wakeAt,
        waitingFor,
      })
  }

  /** The engine stops: the run is let go, due now, for any engine to take. */
  private async letGo() {
    this.phase = 'ending'
    const durable = this.apply(released(this.record, this.ctx()), { clearInbox: true })
    void this.writer.flush()
    await durable
    this.close('released')
  }

  /** The workflow function returned or threw. */
  private async conclude(how: { output: unknown } | { error: unknown }) {
    this.phase = 'ending'
    if ('error' in how) return this.fail(how.error)
    const forgotten = [...this.calls.values()].find((c) => !c.d.promise.consumed)
    if (forgotten)
      return this.fail(
        new InvalidArgumentError(
          `Run "${this.runId}": the workflow returned while step "${forgotten.id}" had not finished, and its promise was never awaited. Await every step (or pass it to Promise.all).`,
        ),
      )
    let output: unknown
    try {
      output = await parseWith(this.workflow.outputSchema, how.output, `output of workflow "${this.workflow.id}"`)
      const encoded = this.deps.store.encode(this.deps.store.scrub(output), `output of run "${this.runId}"`)
      this.checkSize(encoded, this.deps.limits.stepBytes, 'the output')
      output = this.deps.store.serializer.decode(encoded)
    } catch (error) {
      return this.fail(error)
    }
    if (!(await this.end({ status: 'completed', output }))) return
    this.deps.log.debug(`Run "${this.runId}" completed`)
    const { hooks } = this.deps
    if (hooks.has('workflow:complete'))
      hooks.emit('workflow:complete', { ...this.base(), output, durationMs: this.now - this.record.createdAt })
  }

  private base() {
    return { runId: this.runId, workflowId: this.workflow.id, version: this.workflow.version, at: this.now }
  }

  private diverged(error: NonDeterminismError) {
    if (this.phase === 'ending' || this.phase === 'closed') return
    this.phase = 'ending'
    void this.fail(error, false)
  }

  private async fail(error: unknown, fromStep = true) {
    this.phase = 'ending'
    if (error instanceof SimulatedCrash) return this.abandon(error)
    const err = toError(error)
    const failedSeq = fromStep ? this.lastFailedSeq : undefined
    if (!(await this.end({ status: 'failed', error: toStoredError(err, false), failedSeq }))) return
    const at = this.record.currentStep ? ` at step "${this.record.currentStep}"` : ''
    this.deps.log.warn(
      `Run "${this.runId}" of workflow "${this.workflow.id}" failed${at}: ${err.message}. Fix the cause, then retry it with engine.retry("${this.runId}").`,
    )
    if (this.deps.hooks.has('workflow:fail')) this.deps.hooks.emit('workflow:fail', { ...this.base(), error: err })
  }

  /** Cancels the run here: aborts steps in flight, records `cancelled`, then its children are cancelled. Resolves false if it had already ended. */
  async cancel(reason: string, signalKey?: string): Promise<boolean> {
    if (this.phase === 'ending' || this.phase === 'closed') return false
    this.phase = 'ending'
    this.controller.abort(new CancelledError(`Run "${this.runId}" was cancelled: ${reason}`))
    const cascade = this.children.size > 0
    const ok = await this.end(
      { status: 'cancelled', error: { name: 'CancelledError', message: reason, code: 'ERR_CANCELLED' }, cascade },
      signalKey ? [{ op: 'delete', key: signalKey }] : [],
    )
    if (!ok) return false
    if (cascade) this.deps.cascade(this.runId)
    this.deps.log.debug(`Run "${this.runId}" cancelled: ${reason}`)
    if (this.deps.hooks.has('workflow:cancel')) this.deps.hooks.emit('workflow:cancel', { ...this.base(), reason })
    return true
  }

  /** Writes the end of the run (and its result to its parent, if it has one). Resolves false when nothing was written. */
  private async end(how: Ending, drop: WriteOp[] = []): Promise<boolean> {
    if (this.phase === 'closed') return false
    this.phase = 'ending'
    const c = ended(this.record, this.ctx(), how)
    const put: WriteOp[] = []
    const parent = this.record.parent
    if (parent) {
      const now = this.now
      const payload = { status: how.status, output: how.output, error: how.error }
      const sig: SignalRecord = { name: childSignal(parent.stepId), payload, sentAt: now }
      // Unique per incarnation and generation: a retried child's new result is not taken for the consumed old one.
      const origin = `c${this.record.nonce}g${this.record.generation}`
      put.push(...signalOps(parent.runId, parent.nonce, now, 0, origin, this.deps.store.encode(sig, 'child result')))
    }
    const durable = this.apply(c, { put, drop, clearInbox: true })
    void this.writer.flush()
    await durable
    if (this.closed) return false
    this.close(how.status)
    return true
  }

  /** Ends this execution without writing (lease lost, store gone, engine killed); the run is resumed elsewhere or later. */
  abandon(error: unknown): void {
    if (this.phase === 'closed') return
    if (!(error instanceof SimulatedCrash)) {
      const err = toError(error)
      this.deps.log.warn(`Run "${this.runId}" paused: ${err.message}`)
      if (this.deps.hooks.has('error')) this.deps.hooks.emit('error', { source: 'execution', error: err, runId: this.runId })
    }
    this.close('abandoned')
  }

  /** A cancel request reached this run (a `$cancel` signal read elsewhere). */
  requestCancel(reason: string, key?: string) {
    if (this.phase !== 'live' && this.phase !== 'replaying' && this.phase !== 'loading') return
    this.cancelRequest = { reason, key }
    this.quiet.request()
  }

  private close(outcome: ExecutionOutcome) {
    this.phase = 'closed'
    this.outcome = outcome
    this.writer.stop()
    this.cancelTimer?.()
    this.parking.clear()
    this.outcomes.length = 0
    const c = this.abortController
    if (c && !c.signal.aborted) c.abort(this.endedError())
    this.retire()
  }

  /** Tells the engine once no step of this execution is in flight any more (never before: see issue of double execution). */
  private retire() {
    if (this.retired || this.active > 0 || this.outcome === undefined) return
    this.retired = true
    this.deps.onEnd(this, this.outcome)
  }

  /** How this execution ended (once closed). */
  get ending(): ExecutionOutcome | undefined {
    return this.outcome
  }

  /**
   * The lease is about to run out without a renewal (the store is slow or unreachable, or this
   * process was paused): stop, aborting the steps in flight, before another engine may take the run.
   * `marginMs` is how often this is asked (the renewal period), so the last ask comes before expiry.
   */
  leaseExpired(marginMs = 0): boolean {
    if (this.phase === 'closed') return false
    if (this.now < this.leaseUntil - marginMs) return false
    this.abandon(new LeaseLostError(`Run "${this.runId}": the lease ran out before it could be renewed (lease lost)`, this.runId))
    return true
  }
}
