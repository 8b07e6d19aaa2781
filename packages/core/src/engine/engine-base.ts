// The engine's state and machinery: its lifecycle (start, stop, kill), trigger, the scheduler's
// host side (claiming runs, ending executions) and the routing of wake-ups. The public operations
// on runs (signals, cancel, retry, fork, reading) are in engine.ts, on top of this class.
import type { Action } from '../action.js'
import { createKV, type KV } from '../datastore/kv.js'
import type { ListedEntry } from '../datastore/types.js'
import { EngineStateError, WorkflowNotFoundError } from '../errors.js'
import { Hooks } from '../hooks/registry.js'
import type { HookRegistry } from '../hooks/types.js'
import { assertId, timeOrderedUuid } from '../ids.js'
import type { Logger } from '../logger.js'
import { redactor } from '../redact.js'
import { jsonSerializer } from '../serializer.js'
import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import { type ClaimHost, claimRun } from './claiming.js'
import { type Clock, systemClock } from './clock.js'
import { engineConfig } from './engine-config.js'
import type { CancelOutcome, Engine, InternalEngineOptions, RunHandle, TriggerOptions } from './engine-types.js'
import { Execution } from './execution.js'
import type { ExecutionDeps, ExecutionOutcome } from './execution-deps.js'
import { startsPending } from './flow-control.js'
import { timeOfDueKey } from './keys.js'
import { releaseEngineLock, renewEngineLock, setupPlugins, takeEngineLock } from './lifecycle.js'
import { awaitResult, readRun, resultWithoutEngine } from './queries.js'
import { type RunRecord, TERMINAL } from './records.js'
import type { RunInfo } from './run-info.js'
import { Runs } from './runs.js'
import { scheduleOfRunId } from './schedule-transitions.js'
import { Scheduler } from './scheduler.js'
import type { SchedulerHost } from './scheduler-contract.js'
import { Schedules } from './schedules.js'
import { emitAdmitted, startRun } from './starting.js'
import { EngineStore } from './store.js'
import { StoreClockSync } from './store-clock.js'
import { SLOTS_FREED, WakeChannel, WORK_DUE } from './wake-channel.js'
import { WorkflowRegistry } from './workflow-registry.js'

/** The engine's state and machinery; `EngineImpl` (engine.ts) adds the public operations on runs. */
export abstract class EngineBase implements SchedulerHost {
  readonly engineId: string
  readonly store: EngineStore
  readonly clock: Clock
  readonly log: Logger
  readonly hooks: Hooks
  readonly kv: KV
  readonly multiProcess: boolean
  readonly leaseMs: number
  readonly pollIntervalMs: number
  readonly concurrency: number
  readonly runs: Runs
  readonly executions = new Map<string, Execution>()
  protected readonly workflows: WorkflowRegistry
  protected readonly registeredActions = new Map<string, Action>()
  protected readonly scheduler: Scheduler
  /** `engine.schedules`: durable cron and interval schedules. */
  readonly schedules: Schedules
  /** How long a run waits before it looks for a free concurrency slot again. */
  readonly slotWaitMs: number
  protected readonly wakes: WakeChannel
  protected readonly storeClock: StoreClockSync
  protected readonly deps: ExecutionDeps
  protected readonly waiters = new Map<string, Set<(record?: RunRecord) => void>>()
  private readonly drainTimeoutMs: number
  private readonly offset: { ms: number } | undefined
  protected state: Engine['status'] = 'new'
  /** Slots taken by runs about to execute here (between the decision and the execution's start). */
  private reserved = 0
  /** Follow-up writes of ended runs in flight (a schedule's buffered tick), and how many finished: the test engine waits for them. */
  protected sideTasks = 0
  sideTasksDone = 0
  private upkeeps = 0
  private unsubscribe: (() => Promise<void>) | undefined
  private keepAlive: NodeJS.Timeout | undefined
  private lockVersion = 0
  private warnedEarlyTrigger = false

  constructor(private readonly options: InternalEngineOptions) {
    const config = engineConfig(options)
    this.multiProcess = config.multiProcess
    this.engineId = config.engineId
    this.offset = config.offset
    this.clock = config.clock
    this.log = config.log
    this.hooks = new Hooks(this.log)
    this.store = new EngineStore(options.store, options.serializer ?? jsonSerializer, redactor(options.redact))
    this.kv = createKV(this.store, () => this.clock.now())
    this.wakes = new WakeChannel(options.store)
    this.storeClock = new StoreClockSync(options.store, this.store, this.offset)
    this.leaseMs = config.leaseMs
    this.pollIntervalMs = config.pollIntervalMs
    this.drainTimeoutMs = config.drainTimeoutMs
    this.concurrency = config.concurrency
    this.workflows = new WorkflowRegistry(options.workflows)
    for (const a of options.actions ?? []) this.registeredActions.set(a.id, a)
    const { retentionMs, random } = config
    this.runs = new Runs(this.store, this.clock, random, this.log, { engineId: this.engineId, leaseMs: this.leaseMs, retentionMs })
    this.scheduler = new Scheduler(this)
    this.slotWaitMs = Math.min(1_000, Math.max(50, this.pollIntervalMs))
    const engine = this
    this.schedules = new Schedules({
      store: this.store,
      runs: this.runs,
      hooks: this.hooks,
      log: this.log,
      pollIntervalMs: this.pollIntervalMs,
      now: () => this.clock.now(),
      cancel: (runId, reason) => this.cancel(runId, reason).then(() => {}),
      workflow: (id) => this.workflows.latest(id),
      trigger: (wf, input, runId) => this.trigger(wf, input as never, { id: runId }),
      due(at, runCreated) {
        engine.scheduler.arm(at)
        if (runCreated) engine.wakes.publish(WORK_DUE)
      },
      admitted: (wf, a, runId) => emitAdmitted(this.hooks, wf, a, runId, this.clock.now()),
    })
    this.deps = {
      engineId: this.engineId,
      store: this.store,
      clock: this.clock,
      hooks: this.hooks,
      log: this.log,
      leaseMs: this.leaseMs,
      retentionMs,
      random,
      inlineRetryMs: config.inlineRetryMs,
      limits: config.limits,
      beforeCommit: options.beforeCommit,
      newChild: (child, input, childId, parent) => this.runs.create(child, input, childId, parent, false).then((r) => r.ops),
      wake: () => {
        if (this.state === 'started') void this.scheduler.poll()
        this.wakes.publish(WORK_DUE)
      },
      cascade: (runId) =>
        void this.cascade(runId).catch((e) => this.log.warn(`Cancelling the children of run "${runId}" failed: ${String(e)}`)),
      onEnd: (exec, outcome) => this.onEnd(exec, outcome),
      isStopping: () => this.state === 'stopping' || this.state === 'stopped',
    }
  }

  get status() {
    return this.state
  }

  get hookRegistry(): HookRegistry {
    return this.hooks
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new EngineStateError(`engine.start() called twice (state: ${this.state})`)
    this.state = 'starting'
    await setupPlugins(this.options.plugins ?? [], this.hooks, this.registeredActions, this.log)
    this.hooks.close()
    await this.storeClock.measure()
    if (!this.multiProcess)
      this.lockVersion = await takeEngineLock(this.store, this.options.store.name, this.engineId, this.clock.now(), this.leaseMs)
    this.unsubscribe = await this.wakes.subscribe((message) => this.woken(message))
    // Declarative schedules (`workflow.create({ schedule })`) follow the definitions this engine runs.
    await this.schedules.register(this.workflows.latestAll())
    this.state = 'started'
    if (this.options.keepAlive !== false) this.keepAlive = setInterval(() => {}, 1 << 30)
    this.scheduler.start()
    await this.scheduler.poll()
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    this.state = 'stopping'
    clearInterval(this.keepAlive)
    this.scheduler.stop()
    // Executions let their runs go once their steps in flight return (`isStopping`): wake them.
    for (const exec of this.executions.values()) exec.signalled()
    const deadline = Date.now() + this.drainTimeoutMs
    while (this.executions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    for (const exec of [...this.executions.values()]) exec.abandon(new EngineStateError('engine stopped before the step finished'))
    this.scheduler.halt()
    await this.unsubscribe?.().catch(() => {})
    this.wakes.publish(WORK_DUE)
    if (!this.multiProcess && this.lockVersion) await releaseEngineLock(this.store, this.lockVersion)
    this.state = 'stopped'
    if (this.options.store.close && (this.options as { ownsStore?: boolean }).ownsStore) await this.options.store.close()
  }

  /** Kills the engine at once, as a crash would: nothing more is written. For tests. */
  kill() {
    clearInterval(this.keepAlive)
    this.store.dead = true
    this.state = 'stopped'
    this.scheduler.halt()
    for (const exec of [...this.executions.values()]) exec.abandon(new Error('killed'))
  }

  async trigger<W extends Workflow>(wf: W, input: unknown, options: TriggerOptions = {}): Promise<RunHandle<any, any>> {
    await this.storeClock.sync()
    if (this.state === 'stopping' || this.state === 'stopped') throw new EngineStateError('engine.trigger() after stop()')
    if (this.state === 'new' && !this.multiProcess && !this.warnedEarlyTrigger) {
      this.warnedEarlyTrigger = true
      this.log.warn(
        'engine.trigger() before engine.start(): the run waits, pending, until `await engine.start()` (nothing else runs it on this single-process store).',
      )
    }
    const registered = this.workflows.latest(wf?.id)
    if (!registered)
      throw new WorkflowNotFoundError(
        `Workflow "${wf?.id}" is not registered with this engine (pass it in createEngine({ workflows }))`,
        String(wf?.id),
      )
    const runId = options.id === undefined ? `${wf.id}:${timeOrderedUuid(this.clock.now())}` : assertId(options.id, 'run id')
    const parsed = await parseWith(wf.inputSchema, input, `input of workflow "${wf.id}"`)
    const definition = this.workflows.get(wf.id, wf.version) ?? registered
    // A run that needs a concurrency slot, or waits for its turn (throttle, debounce), is claimed by the scheduler.
    const runHere = this.state === 'started' && this.hasRoom() && !startsPending(definition)
    if (runHere) this.reserved++
    let id = runId
    try {
      const { runId: startedId, created } = await startRun(this.admission, definition, parsed, runId, runHere, options.id !== undefined)
      id = startedId
      if (created?.record.status === 'running') {
        this.reserved--
        this.execute(definition, created.record, created.version, true)
      } else if (created) {
        this.scheduler.arm(created.record.dueKey ? timeOfDueKey(created.record.dueKey) : this.clock.now())
        this.wakes.publish(WORK_DUE)
      }
    } finally {
      if (runHere && !this.executions.has(runId)) this.reserved = Math.max(0, this.reserved - 1)
    }
    return this.handle(id, wf.id)
  }

  /** What admission (flow control at trigger time) needs. */
  private get admission() {
    return {
      store: this.store,
      runs: this.runs,
      hooks: this.hooks,
      now: () => this.clock.now(),
      cancel: (runId: string, reason: string) => this.cancel(runId, reason).then(() => {}),
    }
  }

  private execute(wf: Workflow, record: RunRecord, version: number, fresh: boolean) {
    const exec = new Execution(this.deps, wf, record, version)
    this.executions.set(record.id, exec)
    exec.start(fresh).catch((error) => exec.abandon(error))
  }

  // --- SchedulerHost -----------------------------------------------------------------------------

  local(runId: string) {
    return this.executions.get(runId)
  }

  locals() {
    return this.executions.values()
  }

  hasRoom(): boolean {
    return this.executions.size + this.reserved < this.concurrency
  }

  canRun(record: RunRecord): boolean {
    return this.workflows.get(record.workflowId, record.workflowVersion) !== undefined
  }

  async claim(record: RunRecord, version: number, foundDueKey?: string): Promise<boolean> {
    const wf = this.workflows.get(record.workflowId, record.workflowVersion)
    if (!wf || !this.hasRoom() || this.state !== 'started') return false
    this.reserved++
    try {
      const got = await claimRun(this.claimHost, wf, record, version, foundDueKey)
      if (!got || this.state !== 'started') return false
      this.execute(wf, got.record, got.version, false)
      return true
    } finally {
      this.reserved--
    }
  }

  private get claimHost(): ClaimHost {
    return {
      store: this.store,
      runs: this.runs,
      hooks: this.hooks,
      now: () => this.clock.now(),
      slotWaitMs: this.slotWaitMs,
      arm: (at) => this.scheduler.arm(at),
      waited: this.scheduler.waitedThisPass,
    }
  }

  fireTicks(page: ListedEntry[]): Promise<void> {
    return this.schedules.fire(page)
  }

  /** The earliest stored work after now (Unix ms): a run's due entry or a schedule's tick. The test engine steps its clock through them. */
  nextDueAt(): Promise<number | undefined> {
    return this.scheduler.nextDueAt()
  }

  cascade(runId: string): Promise<void> {
    return this.runs.cascade(runId, (id, reason) => this.cancel(id, reason).then(() => {}))
  }

  upkeep() {
    if (!this.multiProcess && this.state === 'started') {
      renewEngineLock(this.store, this.engineId, this.clock.now(), this.leaseMs, this.lockVersion).then(
        (v) => {
          if (v) this.lockVersion = v
          else this.log.error('The single-process engine lock was taken by another engine: stop one of them')
        },
        () => {},
      )
    }
    // The store clock drifts slowly against ours: measure again now and then.
    if (this.offset && ++this.upkeeps % 100 === 0) void this.storeClock.measure().catch(() => {})
  }

  private onEnd(exec: Execution, outcome: ExecutionOutcome) {
    if (this.executions.get(exec.runId) === exec) this.executions.delete(exec.runId)
    if (TERMINAL.has(outcome as never)) {
      for (const wake of this.waiters.get(exec.runId) ?? []) wake(exec.record)
      this.scheduleRunEnded(exec.runId)
      // A child's result is a signal to its parent.
      if (exec.record.parent) this.signalled(exec.record.parent.runId)
    }
    // Its concurrency slots went in the batch that ended or suspended it: a run waiting for one goes now.
    if (outcome !== 'abandoned' && exec.workflow.flow?.concurrency.length) {
      if (this.state === 'started') void this.scheduler.slotsFreed()
      this.wakes.publish(SLOTS_FREED)
    }
    if (this.state !== 'started') return
    if (outcome === 'abandoned') this.scheduler.arm(this.clock.now() + 200)
    else if (outcome === 'suspended' && exec.record.wakeAt !== undefined) this.scheduler.arm(exec.record.wakeAt)
    if (this.executions.size === this.concurrency - 1) void this.scheduler.poll()
  }

  /** A run of a schedule ended: a tick buffered behind it goes now. */
  protected scheduleRunEnded(runId: string) {
    if (scheduleOfRunId(runId) === undefined) return
    this.sideTasks++
    this.schedules
      .runEnded(runId)
      .catch((e) => this.log.warn(`Starting the tick buffered behind run "${runId}" failed: ${String(e)}`))
      .finally(() => {
        this.sideTasks--
        this.sideTasksDone++
      })
  }

  /** A signal (or a child's result) was stored for a run: wake it wherever it is. */
  protected signalled(runId: string) {
    const local = this.executions.get(runId)
    if (local) return local.signalled()
    if (this.state === 'started') void this.scheduler.poll()
    this.wakes.publish(runId)
  }

  /** Another engine says work is due (`*`), slots were let go (`$slots`) or a run got a signal (its id). */
  private woken(message: string) {
    if (message === SLOTS_FREED) {
      if (this.state === 'started') void this.scheduler.slotsFreed()
      return
    }
    const local = message === WORK_DUE ? undefined : this.executions.get(message)
    if (local) local.signalled()
    else if (this.state === 'started') void this.scheduler.poll()
  }

  // --- Reading runs --------------------------------------------------------------------------------

  getRun(runId: string, workflow?: Workflow): Promise<RunInfo<any, any, any>> {
    return readRun(this.store, this.runs, runId, workflow)
  }

  handle(runId: string, workflow: string | Workflow): RunHandle<any, any> {
    return {
      id: runId,
      workflowId: typeof workflow === 'string' ? workflow : workflow?.id,
      result: () => this.result<any>(runId),
      status: async () => (await this.getRun(runId)).status,
    }
  }

  private result<T>(runId: string): Promise<T> {
    if (this.state !== 'started' && !this.multiProcess) return resultWithoutEngine<T>(this.runs, runId, this.state)
    const every = this.clock === systemClock || this.offset ? this.pollIntervalMs : 50
    return awaitResult<T>(this.runs, this.waiters, runId, every, (id) => this.executions.has(id))
  }

  /** Polls the store for due work now and waits for that pass (the test engine uses it). */
  /** `engine.cancel`, in engine.ts: schedules and flow control cancel runs too. */
  abstract cancel(runId: string, reason?: string): Promise<CancelOutcome>
}
