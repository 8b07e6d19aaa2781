// The engine's public operations on runs: signals, cancel, retry, fork, replay checks and reading
// runs, on top of the machinery of engine-base.ts; and `createEngine`.
import { InvalidArgumentError } from '../errors.js'
import { HOOK_NAMES } from '../hooks/registry.js'
import { assertId } from '../ids.js'
import { parseWith } from '../validation.js'
import { declaredSignal, type Workflow } from '../workflow.js'
import { EngineBase } from './engine-base.js'
import type { BufferedSignal, CancelOutcome, CountRunsOptions, Engine, EngineOptions, ListRunsOptions, RunHandle } from './engine-types.js'
import { type ForkOptions, forkRun } from './fork.js'
import { bufferedSignals, countRuns, listRuns } from './queries.js'
import type { RunRecord } from './records.js'
import { type ReplayCheckOptions, type ReplayCheckReport, replayCheck } from './replay-check.js'
import type { RunInfo } from './run-info.js'
import { WORK_DUE } from './wake-channel.js'

/** The engine. Create it with {@link createEngine}; its public face is the {@link Engine} interface. */
export class EngineImpl extends EngineBase implements Engine {
  actions() {
    return [...this.registeredActions.values()].map((a) => a.describe())
  }

  // --- Signals, cancel, retry ----------------------------------------------------------------------

  async signal(run: string | RunHandle<any, any>, name: string, payload?: unknown): Promise<boolean> {
    await this.storeClock.sync()
    const runId = assertId(typeof run === 'object' && run !== null ? run.id : run, 'run id')
    if (typeof name !== 'string' || name.length === 0 || name.length > 200)
      throw new InvalidArgumentError(`Invalid signal name ${JSON.stringify(name)}`)
    if (name.startsWith('$')) throw new InvalidArgumentError(`Signal names starting with "$" are reserved, got "${name}"`)
    // Declared signals are checked against the definition the run started on, when this engine has it
    // (an engine that only sends signals may not); the wait parses the payload again in any case.
    const check = async (record: RunRecord) => {
      const wf = this.workflows.get(record.workflowId, record.workflowVersion)
      const schema = wf && declaredSignal(wf, name)
      if (schema) await parseWith(schema, payload, `payload of signal "${name}" to run "${runId}"`)
    }
    const { stored } = await this.runs.signal(runId, name, payload, check)
    if (stored) this.signalled(runId)
    return stored
  }

  async cancel(runId: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
    assertId(runId, 'run id')
    await this.storeClock.sync()
    const local = this.executions.get(runId)
    if (local && !local.closed && (await local.cancel(reason))) return 'cancelled'
    const what = await this.runs.cancel(runId, reason, (id) => this.executions.has(id))
    if (what.status === 'requested') this.signalled(runId)
    if (what.status === 'cancelled') {
      this.log.debug(`Run "${runId}" cancelled: ${reason}`)
      this.scheduleRunEnded(runId)
      for (const wake of this.waiters.get(runId) ?? []) wake(what.record)
      if (this.hooks.has('workflow:cancel'))
        this.hooks.emit('workflow:cancel', {
          runId,
          workflowId: what.record.workflowId,
          version: what.record.workflowVersion,
          at: this.clock.now(),
          reason,
        })
      if (what.cascade) await this.cascade(runId)
    }
    return what.status
  }

  listSignals(runId: string): Promise<BufferedSignal[]> {
    return bufferedSignals(this.store, this.runs, runId)
  }

  async retry(runId: string, _workflow?: Workflow): Promise<RunHandle<any, any>> {
    await this.storeClock.sync()
    const record = await this.runs.retry(assertId(runId, 'run id'), (childId) => this.retry(childId).then(() => {}))
    if (this.state === 'started') await this.scheduler.poll()
    this.wakes.publish(WORK_DUE)
    return this.handle(runId, record.workflowId)
  }

  async fork(runId: string, options: ForkOptions): Promise<RunHandle> {
    await this.storeClock.sync()
    const { id, workflowId } = await forkRun(this.store, this.runs, this.workflows, runId, options, this.clock.now())
    if (this.state === 'started') void this.scheduler.poll()
    this.wakes.publish(WORK_DUE)
    return this.handle(id, workflowId)
  }

  replayCheck(options: ReplayCheckOptions = {}): Promise<ReplayCheckReport> {
    const known = this.workflows.all()
    return replayCheck(this.store, this.deps, options, known)
  }

  // --- Reading runs --------------------------------------------------------------------------------

  listRuns(options: ListRunsOptions = {}): Promise<{ runs: RunInfo[]; nextCursor?: string }> {
    return listRuns(this.store, options)
  }

  countRuns(options: CountRunsOptions = {}): Promise<number> {
    return countRuns(this.store, options)
  }

  tick(): Promise<void> {
    return this.scheduler.poll()
  }

  /** Resolves when no run is executing in this engine, no poll is in progress and no follow-up write is in flight. */
  async idle(): Promise<void> {
    while (this.executions.size > 0 || this.scheduler.busy || this.sideTasks > 0) await new Promise((r) => setImmediate(r))
  }
}

/** Every lifecycle event name the engine emits, in the order docs/hooks.md lists them. */
export const hookNames: readonly string[] = HOOK_NAMES

/**
 * Creates an engine inside your app.
 *
 * @example
 * ```ts
 * const engine = createEngine({ store: sqliteStore({ path: './do.db' }), workflows: [onboarding] })
 * await engine.start()
 * const run = await engine.trigger(onboarding, input, { id: 'onboarding:usr_12345' })
 * await engine.signal(run.id, 'email.clicked', { at: Date.now() })
 * ```
 */
export const createEngine = (options: EngineOptions): Engine => new EngineImpl(options)
