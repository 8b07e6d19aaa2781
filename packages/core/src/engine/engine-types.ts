import type { Action, ActionDescription } from '../action.js'
import type { KV } from '../datastore/kv.js'
import type { Datastore } from '../datastore/types.js'
import type { Duration } from '../duration.js'
import type { HookRegistry } from '../hooks/types.js'
import type { Logger } from '../logger.js'
import type { Plugin } from '../plugin.js'
import type { RedactRule } from '../redact.js'
import type { Serializer } from '../serializer.js'
import type { SignalName, SignalPayload, Workflow, WorkflowInput, WorkflowOutput, WorkflowState } from '../workflow.js'
import type { Clock } from './clock.js'
import type { Limits } from './execution-deps.js'
import type { ForkOptions } from './fork.js'
import type { RunStatus, StepKind } from './records.js'
import type { ReplayCheckOptions, ReplayCheckReport } from './replay-check.js'
import type { RunInfo } from './run-info.js'
import type { EngineSchedules } from './schedule-types.js'

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
  /** Runs executing at once in this engine (more wait, `pending`, for a free slot). @default 100 */
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
  /** Where the engine logs. @default the console at `DO_SDK_LOG` level (`warn`: a failed run prints one line) */
  logger?: Logger
  /** Time source (the test engine passes a virtual clock). */
  clock?: Clock
}

/**
 * What the engine's constructor takes besides the public options: hooks for the test engine and
 * the simulation, kept out of {@link EngineOptions} (and so out of `createEngine`'s type).
 */
export interface InternalEngineOptions extends EngineOptions {
  /** Crash injection before a commit (the test engine's `crashBeforeCommit`). */
  beforeCommit?: (info: { runId: string; stepId: string; kind: StepKind }) => void
  /** Ids and nonces (the simulation passes a seeded source). */
  random?: { uuid(): string }
}

/**
 * What `engine.cancel` did: `cancelled` (it is, now), `requested` (another process executes the run
 * and will cancel it at its next commit or lease renewal), or `finished` (it had already ended).
 */
export type CancelOutcome = 'cancelled' | 'requested' | 'finished'

/** A signal waiting in a run's inbox (see `engine.listSignals`). */
export interface BufferedSignal {
  name: string
  payload: unknown
  /** Unix ms, engine clock. */
  sentAt: number
}

/** Options of `engine.trigger`. */
export interface TriggerOptions {
  /** Run id; triggering again with an existing id returns that run (idempotent). @default `${workflowId}:${uuid}` */
  id?: string
}

/**
 * A handle on a run. `W` is the run's workflow when the handle knows it (from `engine.trigger`,
 * `engine.handle(runId, workflow)` or `engine.retry(runId, workflow)`): `engine.signal(handle, …)`
 * then checks the signal's name and payload against the workflow's declared `signals`.
 */
export interface RunHandle<TOutput = unknown, W extends Workflow = Workflow> {
  id: string
  workflowId: string
  /** Resolves with the output when the run completes; rejects with RunFailedError / CancelledError. */
  result(): Promise<TOutput>
  status(): Promise<RunStatus>
  /** Phantom field carrying the workflow type (never set at run time). */
  readonly __workflow?: W
}

/** A run of workflow `W`, as `engine.getRun(runId, workflow)` returns it: output, state and input typed. */
export type RunInfoOf<W> = RunInfo<WorkflowOutput<W>, WorkflowState<W>, WorkflowInput<W>>

/** The payload argument of `engine.signal` for signal `N` of `W`: required unless the schema accepts `undefined`. */
export type SignalPayloadArg<W, N extends string> =
  undefined extends SignalPayload<W, N> ? [payload?: SignalPayload<W, N>] : [payload: SignalPayload<W, N>]

/** Filter and page of `engine.listRuns`, newest first. */
export interface ListRunsOptions {
  workflowId?: string
  status?: RunStatus | RunStatus[]
  /** Only runs created at or after this time (Unix ms or Date). */
  from?: number | Date
  /** Only runs created before this time (Unix ms or Date). */
  to?: number | Date
  /** Only runs whose id starts with this. */
  idPrefix?: string
  /** Page size. @default 50 */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string
}

/** Filter of `engine.countRuns`. */
export interface CountRunsOptions {
  workflowId?: string
  status?: RunStatus | RunStatus[]
}

/** The engine, as `createEngine` returns it. */
export interface Engine {
  /** Identity of this engine in leases. */
  readonly engineId: string
  /** Where it is in its life. */
  readonly status: 'new' | 'starting' | 'started' | 'stopping' | 'stopped'
  /** Runs executing at once in this engine. */
  readonly concurrency: number
  /** The engine's clock (Unix ms). */
  readonly clock: Clock
  /** Observers (`hooks.on`) and interceptors (`hooks.wrap`). */
  readonly hooks: HookRegistry
  /** Same as {@link Engine.hooks}. */
  readonly hookRegistry: HookRegistry
  /** The user's face of the Datastore (`get`, `set` with TTL, `delete`, `list`, atomic `update`). */
  readonly kv: KV
  /**
   * Durable schedules (cron in a time zone, or a fixed interval), shared by every engine process on
   * the store: each tick starts exactly one run. See docs/guides/scheduling.md.
   */
  readonly schedules: EngineSchedules
  /** Runs plugin setups, then resumes every run that was in flight. */
  start(): Promise<void>
  /** Stops claiming work, lets in-flight steps finish (up to `drainTimeout`), and lets its runs go for other engines. */
  stop(): Promise<void>
  /**
   * Starts a run of `workflow`; with an existing `id`, returns that run instead (idempotent). With
   * flow control the handle may point at another run: the unfinished run of a `singleton` key
   * (`skip`), or the waiting run of a `debounce` key (which takes this input).
   * @throws RateLimitedError when the workflow's `rateLimit` drops the run (nothing is written)
   */
  trigger<W extends Workflow>(workflow: W, input: WorkflowInput<W>, options?: TriggerOptions): Promise<RunHandle<WorkflowOutput<W>, W>>
  /**
   * Sends a signal to a run, given its id or a handle; it is kept until the run waits for it, and
   * signals are delivered in order. Resolves `true` when stored, `false` when the run has already
   * finished (nothing is written).
   *
   * Typed signals: when the run's workflow declares `signals`, the name must be one of them and the
   * payload must pass its schema. Given a handle typed by the workflow (from `engine.trigger`, or
   * `engine.handle(runId, workflow)` for a run id from elsewhere), that is checked at compile time.
   * At run time it is checked either way, when this engine has the run's workflow version registered:
   * an undeclared name throws InvalidArgumentError, a bad payload a ValidationError naming the
   * signal, and nothing is written. Workflows without `signals` take any name and any payload.
   * @example
   * ```ts
   * const run = await engine.trigger(onboarding, input)
   * await engine.signal(run, 'email.clicked', { at: Date.now() })
   * // A run id from a webhook:
   * await engine.signal(engine.handle(runId, onboarding), 'email.clicked', { at: Date.now() })
   * ```
   * @throws RunNotFoundError when no such run exists
   */
  signal<W extends Workflow = Workflow, N extends SignalName<W> = SignalName<W>>(
    run: string | RunHandle<any, W>,
    name: N,
    ...payload: SignalPayloadArg<W, N>
  ): Promise<boolean>
  /**
   * The run's record, steps and state. Type arguments: the workflow (`getRun<typeof onboarding>(id)`,
   * which types output, state and input), or the output and state types.
   */
  getRun<W extends Workflow = Workflow<unknown, unknown, unknown>>(runId: string): Promise<RunInfoOf<W>>
  getRun<TOutput = unknown, TState = unknown>(runId: string): Promise<RunInfo<TOutput, TState>>
  /**
   * The run's record, steps and state, typed by its workflow (output, state, input).
   * @throws InvalidArgumentError when the run is not a run of `workflow`
   */
  getRun<W extends Workflow>(runId: string, workflow: W): Promise<RunInfoOf<W>>
  /** Runs, newest first, from the run index (`nextCursor` fetches the next page); without `workflowId`, a merge over every workflow that has runs. */
  listRuns(options?: ListRunsOptions): Promise<{ runs: RunInfo[]; nextCursor?: string }>
  /** How many runs match, counted on the run index. */
  countRuns(options?: CountRunsOptions): Promise<number>
  /**
   * Cancels a run and its children; actions in flight see their AbortSignal fire. Resolves once the
   * run is cancelled, or (when another process executes it) once the request is stored: that
   * process acts on it at once (stores with pub/sub) or at its next commit or lease renewal.
   */
  cancel(runId: string, reason?: string): Promise<CancelOutcome>
  /**
   * The signals buffered for a run and not consumed yet, in the order they were sent (payloads as
   * stored: redacted fields stay redacted). Includes the engine's own (`$cancel`, `$child:…`).
   */
  listSignals(runId: string): Promise<BufferedSignal[]>
  /** Resumes a failed run from the step failure that ended it (a failed child run is retried with it). */
  retry(runId: string): Promise<RunHandle>
  /** Same, with a handle typed by the run's workflow. */
  retry<W extends Workflow>(runId: string, workflow: W): Promise<RunHandle<WorkflowOutput<W>, W>>
  /**
   * Starts a new run that reuses the finished steps of `runId` before `fromStep` (their results, as
   * they were) and runs `fromStep` and everything after on today's code: retrigger from the middle.
   */
  fork(runId: string, options: ForkOptions): Promise<RunHandle>
  /**
   * Replays the journal of every unfinished run against `workflows` (default: this engine's) without
   * running a step or writing anything, and reports each run that would stop with a
   * `NonDeterminismError` (a deploy gate: see docs/guides/deploying-changes.md).
   */
  replayCheck(options?: ReplayCheckOptions): Promise<ReplayCheckReport>
  /** A handle on an existing run. */
  handle<TOutput = unknown>(runId: string, workflowId: string): RunHandle<TOutput>
  /** A handle on an existing run of `workflow`, typed by it (`result()`, and `engine.signal(handle, …)`). */
  handle<W extends Workflow>(runId: string, workflow: W): RunHandle<WorkflowOutput<W>, W>
  /** Every action known to the engine, as JSON (id, description, JSON Schemas). */
  actions(): ActionDescription[]
}
