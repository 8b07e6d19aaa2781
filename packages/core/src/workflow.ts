import type { ZodType, z } from 'zod'
import type { Action, ActionInput, ActionOutput } from './action.js'
import type { Duration } from './duration.js'
import { InvalidArgumentError } from './errors.js'
import { assertId } from './ids.js'
import type { Logger } from './logger.js'
import type { RetryOptions } from './retry.js'

type InputOf<S> = S extends ZodType ? z.output<S> : any
type RawInputOf<S> = S extends ZodType ? z.input<S> : any
type StateOf<S> = S extends ZodType ? z.output<S> : Record<string, any>

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

/** Everything with an effect or a non-deterministic value goes through `step`. */
export interface Step<S = Record<string, any>> {
  /** Runs an action as a durable step (retried, journaled, never re-run once committed). */
  run<A extends Action>(action: A, input: ActionInput<A>, options?: StepRunOptions): Promise<ActionOutput<A>>
  /** Runs a function as a durable step. Its result must be serializable. */
  run<T>(name: string, fn: (ctx: StepFnContext) => Promise<T> | T, options?: StepRunOptions): Promise<T>
  /** Durable sleep: the wake-up time is stored; it survives restarts and may last months. */
  sleep(duration: Duration, options?: { id?: string }): Promise<void>
  /** Durable sleep until a moment (Date or Unix ms). */
  sleepUntil(until: Date | number, options?: { id?: string }): Promise<void>
  /**
   * Waits for a signal sent with `engine.signal(runId, name, payload)`. Signals sent earlier are
   * kept and delivered in order. Resolves `null` on timeout.
   */
  waitForEvent<T = unknown>(name: string, options?: { timeout?: Duration; schema?: ZodType<T>; id?: string }): Promise<T | null>
  /** Updates the state record (validated against the state schema), committed atomically with the step. */
  setState(patch: Partial<S> | ((state: S) => S)): Promise<S>
  /** Starts a child workflow and waits for its output; cancelling this run cancels the child. */
  invoke<W extends Workflow>(child: W, input: WorkflowInput<W>, options?: { id?: string }): Promise<WorkflowOutput<W>>
  /** The current time (Unix ms), journaled. */
  now(): Promise<number>
  /** A random UUID, journaled. */
  uuid(): Promise<string>
  store: StepStore
}

/** What a workflow's `run` receives. */
export interface WorkflowContext<I, S> {
  input: I
  /** The state record; a live object, updated in place by `step.setState`. */
  state: S
  step: Step<S>
  runId: string
  workflowId: string
  version: string
  /** Aborted when the run is cancelled or the engine stops. */
  signal: AbortSignal
  log: Logger
}

/** The definition given to {@link workflow.create}. */
export interface WorkflowConfig<IS extends ZodType | undefined, SS extends ZodType | undefined, OS extends ZodType | undefined, R> {
  /** Unique id, e.g. `user-onboarding`. */
  id: string
  /** Code version. In-flight runs stay on the version they started on. @default '1' */
  version?: string | number
  description?: string
  input?: IS
  /** Schema of the state record; every `setState` is validated against it. */
  state?: SS
  output?: OS
  /** The state a new run starts with. @default {} */
  initialState?: (input: InputOf<IS>) => StateOf<SS>
  run: (ctx: WorkflowContext<InputOf<IS>, StateOf<SS>>) => Promise<R>
}

/** A workflow definition. Create one with {@link workflow.create}. */
export interface Workflow<TInput = any, TOutput = any, TState = any> {
  readonly kind: 'workflow'
  readonly id: string
  readonly version: string
  readonly description?: string
  readonly inputSchema?: ZodType
  readonly stateSchema?: ZodType
  readonly outputSchema?: ZodType
  readonly initialState: (input: any) => TState
  readonly run: (ctx: WorkflowContext<any, TState>) => Promise<unknown>
  /** Phantom field carrying the input type. */
  readonly __types?: { input: TInput; output: TOutput; state: TState }
}

export type WorkflowInput<W> = W extends Workflow<infer I, any, any> ? I : never
export type WorkflowOutput<W> = W extends Workflow<any, infer O, any> ? O : never
export type WorkflowState<W> = W extends Workflow<any, any, infer S> ? S : never

function create<
  IS extends ZodType | undefined = undefined,
  SS extends ZodType | undefined = undefined,
  OS extends ZodType | undefined = undefined,
  R = unknown,
>(config: WorkflowConfig<IS, SS, OS, R>): Workflow<RawInputOf<IS>, OS extends ZodType ? z.output<OS> : Awaited<R>, StateOf<SS>> {
  if (typeof config !== 'object' || config === null) throw new InvalidArgumentError('workflow.create needs a config object')
  const id = assertId(config.id, 'workflow id')
  if (typeof config.run !== 'function') throw new InvalidArgumentError(`Workflow "${id}" needs a run function`)
  const version = String(config.version ?? '1')
  assertId(version, `version of workflow "${id}"`)
  if (config.initialState !== undefined && typeof config.initialState !== 'function') {
    throw new InvalidArgumentError(`Workflow "${id}": initialState must be a function (input) => state`)
  }
  return Object.freeze({
    kind: 'workflow' as const,
    id,
    version,
    description: config.description,
    inputSchema: config.input,
    stateSchema: config.state,
    outputSchema: config.output,
    initialState: (config.initialState ?? (() => ({}))) as (input: unknown) => StateOf<SS>,
    run: config.run as (ctx: WorkflowContext<any, StateOf<SS>>) => Promise<unknown>,
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
