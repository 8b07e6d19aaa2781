import type { ZodType, z } from 'zod'
import type { Action, ActionInput, ActionOutput } from './action.js'
import type { Duration } from './duration.js'
import { InvalidArgumentError } from './errors.js'
import { assertId } from './ids.js'
import type { Logger } from './logger.js'
import type { RetryOptions } from './retry.js'
import { flowControlOf, scheduleOf } from './workflow-flow.js'

type InputOf<S> = S extends ZodType ? z.output<S> : any
type RawInputOf<S> = S extends ZodType ? z.input<S> : any
type StateOf<S> = S extends ZodType ? z.output<S> : Record<string, any>
/**
 * A value any property of a state may hold. It names `string` so that, while `workflow.create` infers
 * the state type, a string literal in `initialState` keeps its literal type (`'registered'`, not
 * `string`) and then fits a `z.enum` of the schema; it equals `unknown` otherwise.
 */
type StateValue = string | {} | null | undefined
/**
 * The type `initialState` returns. Homomorphic over the state type, so that while the state type is
 * still being inferred each property's contextual type is `ST[K]`, whose constraint includes
 * `string`: TypeScript then keeps the literals of the returned object instead of widening them.
 */
type InitialState<ST> = { [K in keyof ST]: ST[K] }
/** What `run` may return: the output schema's input type (the output is parsed with it), else anything. */
type RunReturn<OS, R> = OS extends ZodType ? z.input<OS> : R

/** The signals a workflow declares: signal name → zod schema of its payload. */
export type SignalSchemas = Record<string, ZodType>

/** True when `G` is a declared set of signals (not `undefined`, `any`, or an open record). */
type Declared<G> = 0 extends 1 & G ? false : [G] extends [SignalSchemas] ? (string extends keyof G ? false : true) : false

/** Options of `step.waitForEvent`. */
export interface WaitForEventOptions {
  /** Resolve `null` when no signal came within this long. @default wait forever */
  timeout?: Duration
  /** Step id to use instead of `wait:<name>` (give parallel waits for one name distinct ids). */
  id?: string
}

/**
 * `step.waitForEvent` of a workflow. With declared `signals`, only their names are accepted and the
 * payload has the type of the declared schema (parsed with it); without, any name, and the payload
 * is `unknown` unless `options.schema` parses it.
 */
export type WaitForEvent<G = undefined> =
  Declared<G> extends true
    ? <N extends keyof G & string>(
        name: N,
        options?: WaitForEventOptions,
      ) => Promise<(G[N] extends ZodType ? z.output<G[N]> : never) | null>
    : <T = unknown>(name: string, options?: WaitForEventOptions & { schema?: ZodType<T> }) => Promise<T | null>

/** Options of `step.run`. */
export interface StepRunOptions {
  /** Step id to use instead of the action id / name (give parallel branches distinct ids). */
  id?: string
  /** Retry policy for this step (defaults: the action's own policy; for `step.run(name, fn)`, the engine's). */
  retry?: RetryOptions | false
  /** Per-attempt timeout. */
  timeout?: Duration
}

/** What a `step.run(name, fn)` function receives. */
export interface StepFnContext {
  signal: AbortSignal
  attempt: number
  idempotencyKey: string
}

/** The workflow's own view of the Datastore; every call is a journaled step, so replay sees the same values. */
export interface StepStore {
  get<T = unknown>(key: string): Promise<T | undefined>
  set(key: string, value: unknown, options?: { ttl?: Duration }): Promise<void>
  delete(key: string): Promise<boolean>
}

/**
 * Everything with an effect or a non-deterministic value goes through `step`. `S` is the state's
 * type, `G` the workflow's declared signals (see {@link WorkflowConfig.signals}).
 */
export interface Step<S = Record<string, any>, G = undefined> {
  /** Runs an action as a durable step (retried, journaled, never re-run once committed). */
  run<A extends Action>(action: A, input: ActionInput<A>, options?: StepRunOptions): Promise<ActionOutput<A>>
  /** Runs a function as a durable step. Its result must be serializable. */
  run<T>(name: string, fn: (ctx: StepFnContext) => Promise<T> | T, options?: StepRunOptions): Promise<T>
  /** Durable sleep: the wake-up time is stored; it survives restarts and may last months. */
  sleep(duration: Duration, options?: { id?: string }): Promise<void>
  /** Durable sleep until a moment (Date or Unix ms). */
  sleepUntil(until: Date | number, options?: { id?: string }): Promise<void>
  /**
   * Waits for a signal sent with `engine.signal(run, name, payload)`. Signals sent earlier are
   * kept and delivered in order. Resolves `null` on timeout. When the workflow declares `signals`,
   * `name` must be one of them and the payload is parsed with its schema (a bad payload fails the
   * wait with a ValidationError).
   */
  waitForEvent: WaitForEvent<G>
  /** Updates the state record (validated against the state schema), committed atomically with the step. */
  setState(patch: Partial<S> | ((state: S) => S)): Promise<S>
  /** Starts a child workflow and waits for its output; cancelling this run cancels the child. */
  invoke<W extends Workflow>(child: W, input: WorkflowInput<W>, options?: { id?: string }): Promise<WorkflowOutput<W>>
  /**
   * Runs `fn(item, index)` for every item, at most `concurrency` at a time (the next starts when one
   * finishes), and resolves the results in item order. The steps an item calls get ids scoped to it
   * (`map#1[3]/fetch#1`), so ids do not depend on which item finished first; replay hands the results
   * back in journal order and the pool starts the same items at the same points. If an item throws,
   * no new item starts, the ones running finish, and the first error is thrown.
   * @example
   * ```ts
   * const pages = await step.map(urls, (url) => step.run(fetchPage, { url }), { concurrency: 5 })
   * ```
   */
  map<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, options?: StepMapOptions): Promise<R[]>
  /** The current time (Unix ms), journaled. */
  now(): Promise<number>
  /** A random UUID, journaled. */
  uuid(): Promise<string>
  store: StepStore
}

/** Options of `step.map`. */
export interface StepMapOptions {
  /** Items whose `fn` runs at once; the next item starts when one finishes. @default 10 */
  concurrency?: number
  /** Base of the item scopes (`<id>#n[i]/…`) instead of `map`. */
  id?: string
}

/** A key function of flow control: the run's input in, the key out (one limit per key). */
export type FlowKey<I> = (input: I) => string

/** `concurrency`: at most `limit` runs of one key execute at once, across every process. */
export interface ConcurrencyOption<I = any> {
  /** The key of a run (e.g. its user). Without it the limit is workflow-wide. */
  key?: FlowKey<I>
  limit: number
}

/** `rateLimit` (drop beyond) and `throttle` (delay beyond): at most `limit` runs of one key start within any `period`. */
export interface RateOption<I = any> {
  key?: FlowKey<I>
  limit: number
  period: Duration
}

/** `debounce`: a run starts `period` after the last trigger of its key, with the last input; `timeout` caps the wait from the first. */
export interface DebounceOption<I = any> {
  key?: FlowKey<I>
  period: Duration
  timeout?: Duration
}

/** `singleton`: one unfinished run per key; `skip` returns it to a new trigger, `cancel` cancels it and starts the new one. */
export interface SingletonOption<I = any> {
  key?: FlowKey<I>
  mode: 'skip' | 'cancel'
}

/** A declarative schedule: registered at `engine.start()` as schedule `workflow:<id>`. */
export interface WorkflowSchedule<I = any> {
  /** Cron expression (5 fields, or 6 with seconds first), e.g. `0 9 * * 1`. */
  cron: string
  /** IANA time zone the expression is read in. @default 'UTC' */
  timezone?: string
  /** Input of every run it starts. */
  input?: I
  /** @default 'skip' */
  overlap?: 'skip' | 'buffer-one' | 'allow'
  /** @default 'latest' */
  catchup?: 'none' | 'latest' | 'all'
}

/** Flow control of a workflow, as `workflow.create` checked it. */
export interface FlowControl {
  concurrency: readonly { key?: FlowKey<any>; limit: number }[]
  rateLimit?: { key?: FlowKey<any>; limit: number; periodMs: number }
  throttle?: { key?: FlowKey<any>; limit: number; periodMs: number }
  debounce?: { key?: FlowKey<any>; periodMs: number; timeoutMs?: number }
  singleton?: { key?: FlowKey<any>; mode: 'skip' | 'cancel' }
  priority?: (input: any) => number
}

/** What a workflow's `run` receives. */
export interface WorkflowContext<I, S, G = undefined> {
  input: I
  /** The state record; a live object, updated in place by `step.setState`. */
  state: S
  step: Step<S, G>
  runId: string
  workflowId: string
  version: string
  /** Aborted when the run is cancelled or the engine stops. */
  signal: AbortSignal
  log: Logger
}

/** The definition given to {@link workflow.create}. */
export interface WorkflowConfig<
  IS extends ZodType | undefined,
  SS extends ZodType | undefined,
  OS extends ZodType | undefined,
  R,
  SG extends SignalSchemas | undefined = undefined,
  ST = StateOf<SS>,
> {
  /** Unique id, e.g. `user-onboarding`. */
  id: string
  /** Code version. In-flight runs stay on the version they started on. @default '1' */
  version?: string | number
  description?: string
  input?: IS
  /** Schema of the state record; every `setState` is validated against it. */
  state?: SS
  /** Schema of what `run` returns (parsed with it; `run`'s return type is checked against it). */
  output?: OS
  /**
   * Signals the workflow waits for: name → zod schema of the payload. With them, `engine.signal`
   * on a typed handle and `step.waitForEvent` accept only these names and these payloads, at
   * compile time and at run time (`engine.signal` refuses a bad payload with a ValidationError,
   * nothing written). Without them, any name and any payload.
   * @example { 'email.clicked': z.object({ at: z.number() }) }
   */
  signals?: SG
  /**
   * The state a new run starts with (parsed with the state schema). Its string literals are typed
   * by the schema at the top level (`status: 'registered'` for a `z.enum`, no `as const`).
   * @default {}
   */
  initialState?: (input: InputOf<IS>) => NoInfer<InitialState<ST>>
  /**
   * Start a run on a cron schedule (registered at `engine.start()` as schedule `workflow:<id>`,
   * idempotently; updated when this changes). See docs/guides/scheduling.md.
   * @example { cron: '0 9 * * 1', timezone: 'Europe/Berlin' }
   */
  schedule?: WorkflowSchedule<NoInfer<InputOf<IS>>>
  /**
   * At most `limit` runs of one key execute at once, across every engine process sharing the store
   * (one option, or several: e.g. per user and global). A run over the limit waits `pending`.
   * @example { key: (input) => input.userId, limit: 1 }
   */
  concurrency?: ConcurrencyOption<NoInfer<InputOf<IS>>> | ConcurrencyOption<NoInfer<InputOf<IS>>>[]
  /** At most `limit` runs of one key are started per `period`; `engine.trigger` beyond it throws RateLimitedError (nothing written). */
  rateLimit?: RateOption<NoInfer<InputOf<IS>>>
  /** At most `limit` runs of one key start per `period`; beyond it a run waits `pending` for its turn. */
  throttle?: RateOption<NoInfer<InputOf<IS>>>
  /** Triggers of one key within `period` of each other make one run, with the last input. */
  debounce?: DebounceOption<NoInfer<InputOf<IS>>>
  /** One unfinished run per key. */
  singleton?: SingletonOption<NoInfer<InputOf<IS>>>
  /** Among runs waiting to start together, the higher priority starts first. @default 0 */
  priority?: (input: NoInfer<InputOf<IS>>) => number
  run: (ctx: WorkflowContext<InputOf<IS>, ST, SG>) => Promise<RunReturn<OS, R>>
}

/**
 * A workflow definition. Create one with {@link workflow.create}. `TSignals` is the map of declared
 * signal schemas (`undefined` when it declares none).
 */
export interface Workflow<TInput = any, TOutput = any, TState = any, TSignals = any> {
  readonly kind: 'workflow'
  readonly id: string
  readonly version: string
  readonly description?: string
  readonly inputSchema?: ZodType
  readonly stateSchema?: ZodType
  readonly outputSchema?: ZodType
  /** The declared signals (a frozen object without prototype), or undefined when it declares none. */
  readonly signalSchemas?: Readonly<SignalSchemas>
  readonly initialState: (input: any) => TState
  /** Flow control (concurrency, rate limit, throttle, debounce, singleton, priority), when it has any. */
  readonly flow?: FlowControl
  /** The declarative schedule, if any. */
  readonly schedule?: WorkflowSchedule
  // `any` signals: the engine calls it with an untyped step, and a workflow declaring signals stays
  // assignable to `Workflow` (a contravariant TSignals here would make that fail).
  readonly run: (ctx: WorkflowContext<any, TState, any>) => Promise<unknown>
  /** Phantom field carrying the types. */
  readonly __types?: { input: TInput; output: TOutput; state: TState; signals: TSignals }
}

export type WorkflowInput<W> = W extends Workflow<infer I, any, any, any> ? I : never
export type WorkflowOutput<W> = W extends Workflow<any, infer O, any, any> ? O : never
export type WorkflowState<W> = W extends Workflow<any, any, infer S, any> ? S : never
/** The declared signal schemas of a workflow type (`undefined` when it declares none). */
export type WorkflowSignals<W> = W extends Workflow<any, any, any, infer G> ? G : never
/** The signal names `engine.signal` accepts for a run of `W`: the declared ones, or any string. */
export type SignalName<W> = Declared<WorkflowSignals<W>> extends true ? keyof WorkflowSignals<W> & string : string
/** The payload `engine.signal` accepts for signal `N` of `W`: its schema's input type, or `unknown`. */
export type SignalPayload<W, N extends string = string> =
  Declared<WorkflowSignals<W>> extends true
    ? N extends keyof WorkflowSignals<W>
      ? WorkflowSignals<W>[N] extends ZodType
        ? z.input<WorkflowSignals<W>[N]>
        : never
      : never
    : unknown

/** Checks `config.signals` and copies it into a frozen object without prototype (`'toString'` is no signal). */
const signalSchemasOf = (id: string, signals: unknown): Readonly<SignalSchemas> | undefined => {
  if (signals === undefined) return undefined
  if (typeof signals !== 'object' || signals === null || Array.isArray(signals))
    throw new InvalidArgumentError(`Workflow "${id}": signals must be an object { name: zodSchema }`)
  const out: SignalSchemas = Object.create(null)
  for (const [name, schema] of Object.entries(signals)) {
    if (name.length === 0 || name.length > 200 || name.startsWith('$'))
      throw new InvalidArgumentError(
        `Workflow "${id}": invalid signal name ${JSON.stringify(name)} (1 to 200 characters, not starting with "$")`,
      )
    if (typeof schema !== 'object' || schema === null || typeof (schema as ZodType).safeParseAsync !== 'function')
      throw new InvalidArgumentError(`Workflow "${id}": signal "${name}" needs a zod schema`)
    out[name] = schema as ZodType
  }
  return Object.freeze(out)
}

/**
 * The declared schema of signal `name` of `wf`; undefined when `wf` declares no signals.
 * @throws InvalidArgumentError when `wf` declares signals but not this one
 */
export const declaredSignal = (wf: Workflow, name: string): ZodType | undefined => {
  const schemas = wf.signalSchemas
  if (!schemas) return undefined
  if (Object.hasOwn(schemas, name)) return schemas[name]
  const known = Object.keys(schemas)
  throw new InvalidArgumentError(
    `Workflow "${wf.id}" declares no signal ${JSON.stringify(name)} (${known.length ? `it declares ${known.map((n) => `"${n}"`).join(', ')}` : 'it declares none'})`,
  )
}

// The state type ST is a type parameter of its own, inferred from `state: ZodType<ST>` (see InitialState);
// a schema typed only `ZodType` (unknown output) leaves ST at its default.
function create<
  IS extends ZodType | undefined = undefined,
  ST extends Record<string, StateValue> = Record<string, any>,
  OS extends ZodType | undefined = undefined,
  R = unknown,
  SG extends SignalSchemas | undefined = undefined,
>(
  config: WorkflowConfig<IS, ZodType<ST> | ZodType<unknown>, OS, R, SG, ST>,
): Workflow<RawInputOf<IS>, OS extends ZodType ? z.output<OS> : Awaited<R>, ST, SG> {
  if (typeof config !== 'object' || config === null) throw new InvalidArgumentError('workflow.create needs a config object')
  const id = assertId(config.id, 'workflow id')
  if (typeof config.run !== 'function') throw new InvalidArgumentError(`Workflow "${id}" needs a run function`)
  const version = String(config.version ?? '1')
  assertId(version, `version of workflow "${id}"`)
  if (config.initialState !== undefined && typeof config.initialState !== 'function') {
    throw new InvalidArgumentError(`Workflow "${id}": initialState must be a function (input) => state`)
  }
  const signalSchemas = signalSchemasOf(id, config.signals)
  const flow = flowControlOf(id, config as unknown as Record<string, unknown>)
  const schedule = scheduleOf(id, config.schedule)
  return Object.freeze({
    kind: 'workflow' as const,
    id,
    version,
    description: config.description,
    inputSchema: config.input,
    stateSchema: config.state,
    outputSchema: config.output,
    signalSchemas,
    ...(flow ? { flow } : {}),
    ...(schedule ? { schedule } : {}),
    initialState: (config.initialState ?? (() => ({}))) as (input: unknown) => ST,
    run: config.run as (ctx: WorkflowContext<any, ST, SG>) => Promise<unknown>,
  })
}

const isWorkflow = (value: unknown): value is Workflow =>
  typeof value === 'object' && value !== null && (value as Workflow).kind === 'workflow' && typeof (value as Workflow).run === 'function'

/**
 * Workflows: stateful, durable compositions of actions.
 *
 * @example
 * ```ts
 * const onboarding = workflow.create({
 *   id: 'user-onboarding',
 *   input: z.object({ userId: z.string(), email: z.string() }),
 *   initialState: ({ userId }) => ({ userId, status: 'registered' }),
 *   async run({ input, step }) {
 *     await step.run(sendWelcomeEmail, { email: input.email, name: 'Jane' })
 *     await step.setState({ status: 'email_sent' })
 *     const click = await step.waitForEvent('email.clicked', { timeout: '3d' })
 *     await step.sleep('1h')
 *     return { clicked: click !== null }
 *   },
 * })
 * ```
 */
export const workflow = { create, isWorkflow }
