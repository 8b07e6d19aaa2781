import { CancelledError, LeaseLostError, type NonDeterminismError, SizeLimitError, toError } from '../errors.js'
import type { Workflow } from '../workflow.js'
import type { ExecutionDeps, ExecutionOutcome } from './execution-deps.js'
import { Handover } from './handover.js'
import { Inbox } from './inbox.js'
import { keys } from './keys.js'
import { type Parked, Parking } from './parking.js'
import { Quiescence } from './quiescence.js'
import { compact, fromStoredError, type JournalEntry, type RunRecord } from './records.js'
import { ReplayCursor } from './replay-cursor.js'
import { stepEvent } from './steps/attempts.js'
import { stepScope } from './steps/map.js'
import type { Outcome, StepCall, StepHost } from './steps/types.js'
import { SimulatedCrash } from './store.js'
import { type Change, renewed } from './transitions.js'
import { type CommitPart, RunWriter } from './writer.js'

/** Where an execution is. One field, so "is it over" has one answer. */
export type Phase = 'loading' | 'replaying' | 'live' | 'suspending' | 'ending' | 'closed'

/**
 * What an execution holds and the services it gives its steps (the {@link StepHost}): the writer,
 * the hand-over of results, the inbox, the parked steps and the lease. Its lifecycle (start, the
 * quiet point, the ways it ends) is {@link Execution}, in execution.ts.
 */
export abstract class ExecutionCore implements StepHost {
  readonly runId: string
  protected phase: Phase = 'loading'
  protected readonly writer: RunWriter
  protected readonly quiet = new Quiescence(() => this.onQuiet())
  protected cursor: ReplayCursor
  protected handover: Handover
  protected readonly inbox = new Inbox(new Set())
  protected readonly parking = new Parking()
  private readonly counters = new Map<string, number>()
  protected active = 0
  protected cancelRequest: { reason: string; key?: string } | undefined
  /** Child runs started by this run (they are cancelled with it). */
  protected readonly children = new Set<string>()
  private abortController: AbortController | undefined
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
    this.handover = this.newHandover()
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

  /** What happens at a quiet point (the lifecycle). */
  protected abstract onQuiet(): void
  /** The code no longer fits the journal. */
  protected abstract diverged(error: NonDeterminismError): void

  protected newHandover(): Handover {
    const host = this
    return new Handover(this.cursor, {
      journal: (o) => this.journal(o),
      replayed: (e) => this.emitReplayed(e),
      diverged: (e) => this.diverged(e),
      get live() {
        return host.live
      },
    })
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

  // --- Results and the journal --------------------------------------------------------------------

  /** Journals a fresh result as it is handed over; returns its position. */
  private journal(o: Outcome): number {
    const { entry } = o
    const seq = this.cursor.nextSeq++
    // The outcome's entry is made for this one journal entry: it is completed in place, not copied.
    const full = entry as JournalEntry
    full.seq = seq
    full.gen = this.record.generation
    full.at = this.now
    if (o.patch) this.record = { ...this.record, ...o.patch }
    this.record.steps++
    this.record.currentStep = entry.id
    this.writer.queue({
      put: o.put,
      journal: { op: 'set', key: keys.journal(this.runId, this.record.nonce, seq), value: this.deps.store.encodeEntry(full, o.encoded) },
      drop: o.drop,
      record: o.patch !== undefined,
      onDurable: this.debug ? () => this.stepDone(entry, o.durable) : o.durable,
    })
    if (entry.kind === 'invoke' && entry.childId && (entry.status === 'done' || entry.status === 'failed'))
      this.children.delete(entry.childId)
    return seq
  }

  /** `DO_SDK_LOG=debug` (or a logger that takes debug): each step's end is logged once durable. */
  private get debug(): boolean {
    return this.deps.log.enabled?.('debug') ?? true
  }

  private stepDone(entry: Outcome['entry'], then?: () => void) {
    this.deps.log.debug(`Run "${this.runId}" step "${entry.id}" ${entry.status === 'failed' ? `failed: ${entry.error?.message}` : 'done'}`)
    then?.()
  }

  private emitReplayed(e: JournalEntry) {
    const { hooks } = this.deps
    if (e.status === 'failed') {
      if (hooks.has('step:fail'))
        hooks.emit('step:fail', { ...stepEvent(this, e.id, e.kind, true), error: fromStoredError(e.error as never), durationMs: 0 })
    } else if (hooks.has('step:complete'))
      hooks.emit('step:complete', { ...stepEvent(this, e.id, e.kind, true), output: e.value, durationMs: 0 })
  }

  // --- StepHost -----------------------------------------------------------------------------------

  nextStepId(name: string): string {
    // Inside a `step.map` item the id is scoped to the item (`map#1[3]/fetch#1`).
    const base = stepScope(this) + name
    const n = (this.counters.get(base) ?? 0) + 1
    this.counters.set(base, n)
    return `${base}#${n}`
  }

  request(call: StepCall): void {
    this.handover.request(call)
  }

  deliver(outcome: Outcome): void {
    if (this.phase === 'closed' || this.phase === 'ending') return
    this.handover.push(outcome)
    this.quiet.request()
  }

  note(entry: Omit<JournalEntry, 'seq' | 'gen' | 'at'>, part: CommitPart = {}): Promise<void> {
    const seq = this.cursor.nextSeq++
    const full: JournalEntry = { ...entry, seq, gen: this.record.generation, at: this.now }
    if (entry.childId) this.children.add(entry.childId)
    this.record.currentStep = entry.id
    const journal = {
      op: 'set' as const,
      key: keys.journal(this.runId, this.record.nonce, seq),
      value: this.deps.store.encodeEntry(full, undefined),
    }
    return this.writer.queue({ ...part, journal })
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

  park(p: Parked): void {
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

  storable(stepId: string, value: unknown): { value: unknown; encoded: string } {
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

  // --- Signals --------------------------------------------------------------------------------------

  /** A signal reached this run while it executes here: read the inbox again (a failed read is tried at the next commit, which the new marker refuses). */
  signalled(): void {
    this.reloadInbox().catch(() => {})
  }

  /** Reads the inbox again (see {@link Inbox.read}); a cancel request found there ends the run at the next quiet point. */
  reloadInbox(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        this.writer.inboxVersion = await this.inbox.read(this.deps.store, this.runId, this.record.nonce)
        this.cancelRequest ??= this.inbox.cancelRequest()
      } finally {
        this.reloading = undefined
      }
      this.quiet.request()
    })()
    return this.reloading
  }

  // --- Record changes and the end of the execution --------------------------------------------------

  protected ctx() {
    const { engineId, leaseMs, retentionMs } = this.deps
    return { now: this.now, engineId, leaseMs, retentionMs }
  }

  /** Takes a change of the record: it becomes the record, its ops go with the next batch. */
  protected apply(c: Change, part: CommitPart = {}): Promise<void> {
    this.record = c.record
    return this.writer.queue({ ...part, put: [...c.put, ...(part.put ?? [])], drop: [...c.drop, ...(part.drop ?? [])], record: true })
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

  protected close(outcome: ExecutionOutcome) {
    this.phase = 'closed'
    this.outcome = outcome
    this.writer.stop()
    this.parking.clear()
    this.handover.clear()
    this.onClose()
    const c = this.abortController
    if (c && !c.signal.aborted) c.abort(this.endedError())
    this.retire()
  }

  /** Lets go of what the lifecycle holds (timers). */
  protected onClose(): void {}

  /** Tells the engine once no step of this execution is in flight any more: the engine never starts the run again meanwhile. */
  private retire() {
    if (this.retired || this.active > 0 || this.outcome === undefined) return
    this.retired = true
    this.deps.onEnd(this as never, this.outcome)
  }

  /** How this execution ended (once closed). */
  get ending(): ExecutionOutcome | undefined {
    return this.outcome
  }
}
