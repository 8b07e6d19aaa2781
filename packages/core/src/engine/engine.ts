import { randomUUID } from 'node:crypto'
import type { Action } from '../action.js'
import { createKV, type KV } from '../datastore/kv.js'
import type { Datastore, ListedEntry, WriteOp } from '../datastore/types.js'
import { type Duration, toMs } from '../duration.js'
import { CapabilityError, EngineStateError, InvalidArgumentError, RunNotFoundError, WorkflowNotFoundError } from '../errors.js'
import { HOOK_NAMES, Hooks } from '../hooks/registry.js'
import type { HookRegistry } from '../hooks/types.js'
import { assertId, timeOrderedUuid } from '../ids.js'
import { consoleLogger, type Logger } from '../logger.js'
import type { Plugin } from '../plugin.js'
import { type RedactRule, redactor } from '../redact.js'
import { jsonSerializer, type Serializer } from '../serializer.js'
import { parseWith } from '../validation.js'
import type { Workflow, WorkflowInput, WorkflowOutput } from '../workflow.js'
import { type Clock, systemClock } from './clock.js'
import { Execution } from './execution.js'
import type { ExecutionDeps, Limits } from './execution-deps.js'
import { keys } from './keys.js'
import { releaseEngineLock, renewEngineLock, setupPlugins, takeEngineLock } from './lifecycle.js'
import { listRuns, settledOutcome, waitForChange } from './queries.js'
import type { JournalEntry, RunRecord, RunStatus, SignalRecord, StepKind } from './records.js'
import { compact, TERMINAL } from './records.js'
import { type RunInfo, toRunInfo } from './run-info.js'
import { Scheduler } from './scheduler.js'
import { EngineStore } from './store.js'

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** Where runs, journals, timers and signals live. */
  store: Datastore
  /** Every workflow (and every version still in flight) this engine may run. */
  workflows?: Workflow[]
  /** Actions to list in `engine.actions()` (packs register theirs through plugins). */
  actions?: Action[]
  plugins?: Plugin[]
  /**
   * Several engine processes share the store (leases and fencing on). Defaults to the store's
   * `capabilities.multiProcess`; refused with a CapabilityError when the store cannot give it.
   */
  multiProcess?: boolean
  /** Identity of this engine in leases. A stable id lets a restarted process take its runs back at once. @default random */
  engineId?: string
  /** Lease length: a dead process's runs are taken over this long after its last renewal. @default '5s' */
  lease?: Duration
  /** How often the store is polled for work other processes made due. @default '1s' */
  pollInterval?: Duration
  /** Runs executing at once in this engine. @default 100 */
  concurrency?: number
  /** Finished runs are removed this long after they finish. @default '7d' */
  retention?: Duration
  /** Retry delays up to this are waited in-process; longer ones become durable timers. @default '1s' */
  inlineRetry?: Duration
  /** Limits on stored sizes, bytes. @default 1 MiB each */
  limits?: Partial<Limits>
  /** How long `stop()` waits for in-flight steps. @default '10s' */
  drainTimeout?: Duration
  /**
   * Keep the Node process alive while the engine is started (like a server), so a worker whose only
   * work is the engine does not exit. `stop()` lets it go. @default true
   */
  keepAlive?: boolean
  serializer?: Serializer
  /**
   * Secret field names (or patterns): their values are replaced by `'[redacted]'` in everything
   * stored (run input, state, output, step results, signals, `kv` values) and in hook payloads, on the
   * first run as on replay. Keep secrets in action options, not in values that flow through steps.
   */
  redact?: RedactRule[]
  logger?: Logger
  /** Time source (the test engine passes a virtual clock). */
  clock?: Clock
  /** @internal test hook: crash injection before a commit. */
  beforeCommit?: (info: { runId: string; stepId: string; kind: StepKind }) => void
}

/** Options of `engine.trigger`. */
export interface TriggerOptions {
  /** Run id; triggering again with an existing id returns that run (idempotent). @default `${workflowId}:${uuid}` */
  id?: string
}

/** A handle on a run. */
export interface RunHandle<TOutput = unknown> {
  id: string
  workflowId: string
  /** Resolves with the output when the run completes; rejects with RunFailedError / CancelledError. */
  result(): Promise<TOutput>
  status(): Promise<RunStatus>
}

/** Filter and page of `engine.listRuns`. */
export interface ListRunsOptions {
  workflowId?: string
  status?: RunStatus | RunStatus[]
  /** Page size. @default 50 */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string
}

const WAKE_CHANNEL = 'wake'

const lastFailure = (failed: JournalEntry[], runError: string | undefined): number => {
  const last = failed.sort((a, b) => b.seq - a.seq)[0]
  return last && runError?.includes(last.error?.message ?? '\u0000') ? last.seq : Number.MAX_SAFE_INTEGER
}

/** The engine. Create it with {@link createEngine}. */
export class Engine {
  readonly engineId: string
  readonly store: EngineStore
  readonly clock: Clock
  readonly log: Logger
  readonly hooks: Hooks
  /** The user's face of the Datastore (`get`, `set` with TTL, `delete`, `list`, atomic `update`). */
  readonly kv: KV
  readonly multiProcess: boolean
  readonly leaseMs: number
  readonly pollIntervalMs: number
  readonly concurrency: number
  readonly executions = new Map<string, Execution>()
  private readonly workflows = new Map<string, Map<string, Workflow>>()
  private readonly latest = new Map<string, Workflow>()
  private readonly registeredActions = new Map<string, Action>()
  private readonly scheduler: Scheduler
  private readonly deps: ExecutionDeps
  private readonly waiters = new Map<string, Set<(record?: RunRecord) => void>>()
  private readonly drainTimeoutMs: number
  private state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new'
  private signalSeq = 0
  private unsubscribe: (() => Promise<void>) | undefined
  private keepAlive: NodeJS.Timeout | undefined
  private lockVersion = 0

  constructor(private readonly options: EngineOptions) {
    if (!options || typeof options !== 'object' || !options.store) throw new InvalidArgumentError('createEngine needs { store }')
    const caps = options.store.capabilities
    this.multiProcess = options.multiProcess ?? caps.multiProcess
    if (this.multiProcess && !caps.multiProcess) {
      throw new CapabilityError(
        `Store "${options.store.name}" is single-process (capabilities.multiProcess = false): two engines on it could run a committed step twice. Use sqliteStore (one machine) or redisStore (many machines) for several processes, or run one engine.`,
      )
    }
    this.engineId = options.engineId === undefined ? `engine-${randomUUID().slice(0, 8)}` : assertId(options.engineId, 'engine id')
    this.clock = options.clock ?? systemClock
    this.log = options.logger ?? consoleLogger()
    this.hooks = new Hooks(this.log)
    this.store = new EngineStore(options.store, options.serializer ?? jsonSerializer, redactor(options.redact))
    this.kv = createKV(this.store, () => this.clock.now())
    this.leaseMs = toMs(options.lease ?? '5s', 'lease')
    this.pollIntervalMs = toMs(options.pollInterval ?? '1s', 'pollInterval')
    this.drainTimeoutMs = toMs(options.drainTimeout ?? '10s', 'drainTimeout')
    this.concurrency = options.concurrency ?? 100
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new InvalidArgumentError(`concurrency must be an integer >= 1, got ${this.concurrency}`)
    for (const wf of options.workflows ?? []) this.register(wf)
    for (const a of options.actions ?? []) this.registeredActions.set(a.id, a)
    this.scheduler = new Scheduler(this)
    this.deps = {
      engineId: this.engineId,
      store: this.store,
      clock: this.clock,
      hooks: this.hooks,
      log: this.log,
      leaseMs: this.leaseMs,
      retentionMs: toMs(options.retention ?? '7d', 'retention'),
      inlineRetryMs: toMs(options.inlineRetry ?? '1s', 'inlineRetry'),
      limits: { stepBytes: 1 << 20, stateBytes: 1 << 20, ...options.limits },
      beforeCommit: options.beforeCommit,
      startChild: (child, input, childId, parent) => this.createRun(child, input, childId, parent).then(() => {}),
      cancelRun: (runId, reason) => this.cancel(runId, reason),
      onEnd: (exec, outcome) => this.onEnd(exec, outcome),
      isStopping: () => this.state === 'stopping' || this.state === 'stopped',
    }
  }

  private register(wf: Workflow) {
    const versions = this.workflows.get(wf.id) ?? new Map<string, Workflow>()
    if (versions.has(wf.version) && versions.get(wf.version) !== wf) {
      throw new InvalidArgumentError(`Workflow "${wf.id}" version "${wf.version}" is registered twice with different definitions`)
    }
    versions.set(wf.version, wf)
    this.workflows.set(wf.id, versions)
    this.latest.set(wf.id, wf)
  }

  /** Starts the engine: runs plugin setups, then resumes every run that was in flight. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new EngineStateError(`engine.start() called twice (state: ${this.state})`)
    this.state = 'starting'
    await setupPlugins(this.options.plugins ?? [], this.hooks, this.registeredActions, this.log)
    this.hooks.close()
    if (!this.multiProcess) await this.takeEngineLock()
    const ds = this.options.store
    if (ds.capabilities.pubsub && ds.subscribe) {
      this.unsubscribe = await ds.subscribe(WAKE_CHANNEL, () => void this.scheduler.poll())
    }
    this.state = 'started'
    if (this.options.keepAlive !== false) this.keepAlive = setInterval(() => {}, 1 << 30)
    this.scheduler.start()
    await this.scheduler.poll()
  }

  private async takeEngineLock() {
    this.lockVersion = await takeEngineLock(this.store, this.options.store.name, this.engineId, this.clock.now(), this.leaseMs)
  }

  /** Keeps the single-process lock alive. */
  renewEngineLock() {
    if (this.multiProcess || this.state !== 'started') return
    renewEngineLock(this.store, this.engineId, this.clock.now(), this.leaseMs, this.lockVersion).then(
      (v) => {
        if (v) this.lockVersion = v
        else this.log.error('The single-process engine lock was taken by another engine: stop one of them')
      },
      () => {},
    )
  }

  /**
   * Stops claiming work, lets in-flight steps finish (up to `drainTimeout`), parks the runs it holds
   * as due at once so another engine takes them, then releases its timers.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    this.state = 'stopping'
    clearInterval(this.keepAlive)
    this.scheduler.stop()
    const deadline = Date.now() + this.drainTimeoutMs
    while (this.executions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    for (const exec of [...this.executions.values()]) exec.abandon(new EngineStateError('engine stopped before the step finished'))
    this.scheduler.halt()
    await this.unsubscribe?.().catch(() => {})
    this.notifyOthers()
    if (!this.multiProcess && this.lockVersion) {
      await releaseEngineLock(this.store, this.lockVersion)
    }
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

  /** Observers (`hooks.on`) and interceptors (`hooks.wrap`). */
  get hookRegistry(): HookRegistry {
    return this.hooks
  }

  /** Every action known to the engine, as JSON (id, description, JSON Schemas). */
  actions() {
    return [...this.registeredActions.values()].map((a) => a.describe())
  }

  /** Starts a run of `wf`; with an existing `id`, returns that run instead (idempotent). */
  async trigger<W extends Workflow>(wf: W, input: WorkflowInput<W>, options: TriggerOptions = {}): Promise<RunHandle<WorkflowOutput<W>>> {
    if (this.state === 'stopping' || this.state === 'stopped') throw new EngineStateError('engine.trigger() after stop()')
    const registered = this.latest.get(wf?.id)
    if (!registered)
      throw new WorkflowNotFoundError(
        `Workflow "${wf?.id}" is not registered with this engine (pass it in createEngine({ workflows }))`,
        String(wf?.id),
      )
    const runId = options.id === undefined ? `${wf.id}:${timeOrderedUuid(this.clock.now())}` : assertId(options.id, 'run id')
    const parsed = await parseWith(wf.inputSchema, input, `input of workflow "${wf.id}"`)
    await this.createRun(this.workflows.get(wf.id)?.get(wf.version) ?? registered, parsed, runId)
    return this.handle(runId, wf.id)
  }

  /** Creates a run record (or finds the existing one) and starts it here when there is room. */
  private async createRun(wf: Workflow, input: unknown, runId: string, parent?: { runId: string; stepId: string }): Promise<boolean> {
    const state = this.store.scrub(await parseWith(wf.stateSchema, wf.initialState(input) ?? {}, `initial state of workflow "${wf.id}"`))
    input = this.store.scrub(input)
    const now = this.clock.now()
    const runHere = this.state === 'started' && this.executions.size < this.concurrency
    const leaseUntil = now + this.leaseMs
    const dueKey = keys.due(runHere ? leaseUntil : now, runId)
    const record: RunRecord = {
      f: 1,
      id: runId,
      workflowId: wf.id,
      workflowVersion: wf.version,
      // Started right here: it is running from its first write (its first step then only adds a journal entry).
      status: runHere ? 'running' : 'pending',
      input,
      state,
      nonce: randomUUID().slice(0, 8),
      generation: 0,
      createdAt: now,
      updatedAt: now,
      steps: 0,
      dueKey,
      ...(runHere ? { owner: this.engineId, leaseUntil } : {}),
      ...(parent ? { parent } : {}),
    }
    const res = await this.store.batch([
      { op: 'set', key: keys.run(runId), value: this.store.encode(compact(record), `run "${runId}"`), ifVersion: 0 },
      { op: 'set', key: dueKey, value: 'run' },
    ])
    if (!res.ok) return false
    if (runHere) this.execute(wf, record, res.versions[0] as number, true)
    else {
      // Due now: this engine's next poll, or (pub/sub stores) any started engine at once.
      this.scheduler.arm(now)
      this.notifyOthers()
    }
    return true
  }

  /** Claims a due run (CAS on its record) and executes it. Returns false when another engine won. */
  async claim(record: RunRecord, version: number, dueEntry: ListedEntry): Promise<boolean> {
    const wf = this.workflows.get(record.workflowId)?.get(record.workflowVersion)
    const now = this.clock.now()
    if (!wf) {
      this.log.error(
        `Run "${record.id}" needs workflow "${record.workflowId}" version "${record.workflowVersion}", which this engine does not have; leaving it for an engine that does`,
      )
      const later = keys.due(now + 60_000, record.id)
      await this.store.batch([
        { op: 'delete', key: dueEntry.key, ifVersion: dueEntry.version },
        { op: 'set', key: later, value: 'run' },
      ])
      return false
    }
    const leaseUntil = now + this.leaseMs
    const dueKey = keys.due(leaseUntil, record.id)
    const ops: WriteOp[] = [{ op: 'delete', key: dueEntry.key }]
    if (record.dueKey && record.dueKey !== dueEntry.key) ops.push({ op: 'delete', key: record.dueKey })
    ops.push({ op: 'set', key: dueKey, value: 'run' })
    const claimed: RunRecord = { ...record, owner: this.engineId, leaseUntil, dueKey, updatedAt: now }
    ops.push({ op: 'set', key: keys.run(record.id), value: this.store.encode(claimed, `run "${record.id}"`), ifVersion: version })
    const res = await this.store.batch(ops)
    if (!res.ok) return false
    this.execute(wf, claimed, res.versions[res.versions.length - 1] as number)
    return true
  }

  private execute(wf: Workflow, record: RunRecord, version: number, fresh = false) {
    const exec = new Execution(this.deps, wf, record, version)
    this.executions.set(record.id, exec)
    exec.start(fresh).catch((error) => exec.abandon(error))
  }

  private onEnd(exec: Execution, outcome: string) {
    if (this.executions.get(exec.runId) === exec) this.executions.delete(exec.runId)
    if (TERMINAL.has(outcome as RunStatus)) {
      for (const wake of this.waiters.get(exec.runId) ?? []) wake(exec.record)
      if (exec.record.parent) {
        const parent = this.executions.get(exec.record.parent.runId)
        if (parent) parent.wakeRequested = true
        else {
          // The parent is due now: here (this engine may take it) and in other processes.
          if (this.state === 'started') void this.scheduler.poll()
          this.notifyOthers()
        }
      }
    }
    if (this.state !== 'started') return
    if (outcome === 'abandoned') this.scheduler.arm(this.clock.now() + 200)
    else if (exec.wakeRequested) void this.scheduler.poll()
    else if (outcome === 'suspended' && exec.record.wakeAt !== undefined) this.scheduler.arm(exec.record.wakeAt)
    if (this.executions.size === this.concurrency - 1) void this.scheduler.poll()
  }

  /**
   * Sends a signal to a run; it is kept until the run waits for it, and signals are delivered in
   * order. Resolves `true` when stored, `false` when the run has already finished (nothing is written).
   * @throws RunNotFoundError when no such run exists
   */
  async signal(runId: string, name: string, payload?: unknown): Promise<boolean> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200)
      throw new InvalidArgumentError(`Invalid signal name ${JSON.stringify(name)}`)
    if (name.startsWith('$')) throw new InvalidArgumentError(`Signal names starting with "$" are reserved, got "${name}"`)
    return this.send(runId, name, payload)
  }

  private async send(runId: string, name: string, payload: unknown): Promise<boolean> {
    const got = await this.store.get(keys.run(assertId(runId, 'run id')))
    if (!got) throw new RunNotFoundError(runId)
    if (TERMINAL.has(this.store.decode<RunRecord>(got, keys.run(runId)).status)) return false
    const now = this.clock.now()
    const sig: SignalRecord = { name, payload: this.store.scrub(payload), sentAt: now }
    const seq = ++this.signalSeq
    await this.store.batch([
      { op: 'set', key: keys.signal(runId, now, seq, this.engineId), value: this.store.encode(sig, `payload of signal "${name}"`) },
      { op: 'set', key: keys.due(now, runId), value: 'run' },
    ])
    const local = this.executions.get(runId)
    if (local) local.wakeRequested = true
    else void this.scheduler.poll()
    if (!local) this.notifyOthers()
    return true
  }

  /** Tells engines in other processes that work became due (stores with pub/sub; others poll). */
  notifyOthers() {
    const ds = this.options.store
    if (ds.capabilities.pubsub && ds.publish) ds.publish(WAKE_CHANNEL, this.engineId).catch(() => {})
  }

  /** The run's record, steps and state. */
  async getRun<TOutput = unknown, TState = unknown>(runId: string): Promise<RunInfo<TOutput, TState>> {
    const got = await this.store.get(keys.run(assertId(runId, 'run id')))
    if (!got) throw new RunNotFoundError(runId)
    const record = this.store.decode<RunRecord>(got, keys.run(runId))
    const items = await this.store.list(keys.journalPrefix(runId, record.nonce))
    const entries = items.map((i) => this.store.decode<JournalEntry>(i, i.key))
    return toRunInfo(record, entries) as RunInfo<TOutput, TState>
  }

  /** Runs by workflow and status, a page at a time (`nextCursor` fetches the next page). */
  listRuns(options: ListRunsOptions = {}): Promise<{ runs: RunInfo[]; nextCursor?: string }> {
    return listRuns(this.store, options)
  }

  /** Cancels a run (and its children); actions in flight see their AbortSignal fire. */
  async cancel(runId: string, reason = 'cancelled by request'): Promise<void> {
    const local = this.executions.get(runId)
    // Cancel in place when the run executes here; if it ended (suspended) meanwhile, go the durable way.
    if (local && !local.closed && (await local.cancel(reason))) return
    await this.send(runId, '$cancel', { reason })
    if (this.state === 'started') await this.scheduler.poll()
  }

  /** Resumes a failed run from its last committed step (failed steps are tried again). */
  async retry(runId: string): Promise<RunHandle> {
    const got = await this.store.get(keys.run(assertId(runId, 'run id')))
    if (!got) throw new RunNotFoundError(runId)
    const record = this.store.decode<RunRecord>(got, keys.run(runId))
    if (record.status !== 'failed') throw new EngineStateError(`Run "${runId}" is ${record.status}; only failed runs can be retried`)
    const now = this.clock.now()
    const dueKey = keys.due(now, runId)
    const journal = await this.store.list(keys.journalPrefix(runId, record.nonce))
    const failed = journal
      .map((i) => this.store.decode<JournalEntry>(i, i.key))
      .filter((e) => e.status === 'failed' && e.gen === record.generation)
    const next: RunRecord = {
      ...record,
      status: 'pending',
      generation: record.generation + 1,
      // The failure that ended the run: the last one journaled, when the run's error is that step's error.
      retryFromSeq: lastFailure(failed, record.error?.message),
      error: undefined,
      finishedAt: undefined,
      expiresAt: undefined,
      dueKey,
      updatedAt: now,
    }
    const ops: WriteOp[] = []
    if (record.dueKey) ops.push({ op: 'delete', key: record.dueKey })
    ops.push(
      { op: 'set', key: dueKey, value: 'run' },
      { op: 'set', key: keys.run(runId), value: this.store.encode(next, 'run'), ifVersion: got.version },
    )
    const res = await this.store.batch(ops)
    if (!res.ok) throw new EngineStateError(`Run "${runId}" changed while being retried; try again`)
    if (this.state === 'started') await this.scheduler.poll()
    return this.handle(runId, record.workflowId)
  }

  /** A handle on an existing run. */
  handle<TOutput = unknown>(runId: string, workflowId: string): RunHandle<TOutput> {
    return {
      id: runId,
      workflowId,
      result: () => this.result<TOutput>(runId),
      status: async () => (await this.getRun(runId)).status,
    }
  }

  private async result<T>(runId: string): Promise<T> {
    assertId(runId, 'run id')
    const every = this.clock === systemClock ? this.pollIntervalMs : 50
    for (;;) {
      // Ends seen in this process hand over the final record; ends elsewhere are seen by polling.
      // A run executing here has not ended (its execution leaves the map as it ends): no read needed.
      let record = this.executions.has(runId) ? await waitForChange(this.waiters, runId, every) : undefined
      if (record === undefined) {
        const got = await this.store.get(keys.run(runId))
        if (!got) throw new RunNotFoundError(runId)
        record = this.store.decode<RunRecord>(got, keys.run(runId))
        if (!TERMINAL.has(record.status)) record = (await waitForChange(this.waiters, runId, every)) ?? record
      }
      if (TERMINAL.has(record.status)) return settledOutcome<T>(record)
    }
  }

  /** Polls the store for due work now and waits for that pass (tests and the test engine use it). */
  tick(): Promise<void> {
    return this.scheduler.poll()
  }

  /** Resolves when no run is executing in this engine and no poll is in progress. */
  async idle(): Promise<void> {
    while (this.executions.size > 0 || this.scheduler.busy) await new Promise((r) => setImmediate(r))
  }

  get status() {
    return this.state
  }

  static readonly hookNames = HOOK_NAMES
}

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
export const createEngine = (options: EngineOptions): Engine => new Engine(options)
