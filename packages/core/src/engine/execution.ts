import type { WriteOp } from '../datastore/types.js'
import { CancelledError, InvalidArgumentError, type NonDeterminismError, toError } from '../errors.js'
import { parseWith } from '../validation.js'
import { RunContext } from './contexts.js'
import { ExecutionCore } from './execution-core.js'
import { childSignal } from './inbox.js'
import { initialStateOf } from './initial-state.js'
import { keys } from './keys.js'
import type { JournalEntry, SignalRecord } from './records.js'
import { toStoredError } from './records.js'
import { ReplayCursor } from './replay-cursor.js'
import { buildStep } from './steps/build.js'
import { SimulatedCrash } from './store.js'
import { type Ending, ended, released, signalOps, suspended } from './transitions.js'

/**
 * One execution of one run in this process. It replays the journal (results handed to the code
 * one per quiet point, in journal order: `handover.ts`), then runs new steps, whose results are
 * handed over the same way and journaled in that order, and ends by completing, failing, being
 * cancelled, suspending until its next timer or signal, or letting the run go (engine stopping).
 * What it holds and gives its steps is {@link ExecutionCore}. See ARCHITECTURE.md.
 */
export class Execution extends ExecutionCore {
  private settledWith: { output: unknown } | { error: unknown } | undefined
  private cancelTimer: (() => void) | undefined

  /** Loads the journal and the buffered signals (unless the run was just created here), then runs the workflow from the top. */
  async start(fresh: boolean): Promise<void> {
    if (!fresh) {
      const [entries] = await Promise.all([this.deps.store.listAll(keys.journalPrefix(this.runId, this.record.nonce)), this.reloadInbox()])
      this.cursor = new ReplayCursor(
        entries.map((e) => this.deps.store.decode<JournalEntry>(e, e.key)),
        this.record,
      )
      this.handover = this.newHandover()
      // Consumed signals an interrupted batch left behind are deleted with the next batch.
      const left = this.inbox.consumeAll(this.cursor.consumedSignals)
      if (left.length) this.writer.queue({ drop: left.map((key) => ({ op: 'delete', key })) })
      for (const id of this.cursor.childIds.values()) this.children.add(id)
    }
    if (this.phase !== 'loading') return
    // Before the replay may start (a quiet point during this await must find the phase still 'loading').
    let initial: Record<string, unknown>
    try {
      initial = await initialStateOf(this.workflow, this.record.input, this.deps.store)
    } catch (error) {
      this.phase = 'live'
      return void this.fail(error, false)
    }
    if (this.phase !== 'loading') return
    this.state = initial
    const { hooks, log } = this.deps
    if (this.record.steps === 0 && this.cursor.nextSeq === 0) {
      log.debug(`Run "${this.runId}" of workflow "${this.workflow.id}" started`)
      if (hooks.has('workflow:start'))
        hooks.emit('workflow:start', {
          ...this.base(),
          input: this.record.input,
          ...(this.record.parent ? { parent: this.record.parent } : {}),
        })
    } else {
      log.debug(`Run "${this.runId}" resumed (${this.cursor.steps} steps journaled)`)
      if (hooks.has('workflow:resume'))
        hooks.emit('workflow:resume', { ...this.base(), steps: this.cursor.steps, atStep: this.record.currentStep })
    }
    this.phase = 'replaying'
    this.cancelRequest ??= this.inbox.cancelRequest()
    if (this.cancelRequest) return this.quiet.request()
    let result: Promise<unknown>
    try {
      const { input } = this.record
      result = Promise.resolve(
        this.workflow.run(
          new RunContext(this, input, this.state, buildStep(this), this.runId, this.workflow.id, this.workflow.version, log),
        ),
      )
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

  /** The quiet point: one thing happens to the workflow code at a time. */
  protected override onQuiet() {
    if (this.phase !== 'replaying' && this.phase !== 'live') return
    if (this.cancelRequest) return void this.cancel(this.cancelRequest.reason, this.cancelRequest.key)
    if (this.phase === 'replaying') {
      const step = this.handover.replayNext(this.settledWith !== undefined)
      if (step === 'handed') return this.quiet.request()
      if (step === 'diverged') return
      this.phase = 'live'
    }
    if (this.settledWith) return void this.conclude(this.settledWith)
    if (this.handover.handNext()) return this.quiet.request()
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

  private armTimer() {
    this.cancelTimer?.()
    this.cancelTimer = undefined
    const at = this.parking.wakeAt()
    if (at === undefined) return
    this.cancelTimer = this.deps.clock.setTimer(() => this.quiet.request(), Math.max(0, at - this.now))
  }

  protected override onClose() {
    this.cancelTimer?.()
  }

  private base() {
    return { runId: this.runId, workflowId: this.workflow.id, version: this.workflow.version, at: this.now }
  }

  // --- The ways an execution ends -----------------------------------------------------------------

  /** Nothing can go on until a timer or a signal: the run waits, held by nobody. */
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
    if (hooks.has('workflow:suspend')) hooks.emit('workflow:suspend', { ...this.base(), status: this.record.status, wakeAt, waitingFor })
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
    const forgotten = this.handover.forgotten()
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

  protected override diverged(error: NonDeterminismError) {
    if (this.phase === 'ending' || this.phase === 'closed') return
    this.phase = 'ending'
    void this.fail(error, false)
  }

  private async fail(error: unknown, fromStep = true) {
    this.phase = 'ending'
    if (error instanceof SimulatedCrash) return this.abandon(error)
    const err = toError(error)
    const failedSeq = fromStep ? this.handover.lastFailedSeq : undefined
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
    const put: WriteOp[] = []
    const parent = this.record.parent
    if (parent) {
      const now = this.now
      const sig: SignalRecord = {
        name: childSignal(parent.stepId),
        payload: { status: how.status, output: how.output, error: how.error },
        sentAt: now,
      }
      // Unique per incarnation and generation: a retried child's new result is not taken for the consumed old one.
      const origin = `c${this.record.nonce}g${this.record.generation}`
      put.push(...signalOps(parent.runId, parent.nonce, now, 0, origin, this.deps.store.encode(sig, 'child result')))
    }
    const durable = this.apply(ended(this.record, this.ctx(), how), { put, drop, clearInbox: true })
    void this.writer.flush()
    await durable
    if (this.closed) return false
    this.close(how.status)
    return true
  }
}
