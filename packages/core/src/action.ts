import { randomUUID } from 'node:crypto'
import pRetry from 'p-retry'
import { toJSONSchema, type ZodType, type z } from 'zod'
import { type Duration, toMs } from './duration.js'
import { longTimer } from './engine/clock.js'
import { ActionFailedError, CancelledError, InvalidArgumentError, TimeoutError, toError } from './errors.js'
import { assertId } from './ids.js'
import { consoleLogger, type Logger } from './logger.js'
import { isRetryable, type ResolvedRetry, type RetryOptions, resolveRetry, retryDelay } from './retry.js'
import { parseWith } from './validation.js'

/** What `execute` receives besides its input. */
export interface ActionContext {
  /** Aborted when the attempt times out, the run is cancelled or the engine stops. Pass it on to fetch, DB drivers… */
  signal: AbortSignal
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  attempt: number
  /** Stable across every attempt of one call: `runId:stepId` in a workflow, a fresh UUID standalone. */
  idempotencyKey: string
  /** Logger with the action id (and the run and step, in a workflow) bound. */
  log: Logger
  /** The run this attempt belongs to, when executed as a workflow step. */
  runId?: string
  /** The step this attempt belongs to, when executed as a workflow step. */
  stepId?: string
}

/** Options of a standalone `action.execute(input, options)` call. */
export interface ExecuteOptions {
  /** Reuse a key (e.g. from your own request id) instead of a fresh UUID. */
  idempotencyKey?: string
  /** Abort every attempt and stop retrying. */
  signal?: AbortSignal
  /** Override the action's retry policy for this call; `false` makes one attempt. */
  retry?: RetryOptions | false
  /** Override the action's per-attempt timeout for this call. */
  timeout?: Duration
  log?: Logger
}

/** Options of one attempt, as the engine calls it (the engine owns retries and persists them). */
export interface AttemptOptions {
  idempotencyKey: string
  attempt: number
  signal?: AbortSignal
  log?: Logger
  runId?: string
  stepId?: string
  timeoutMs?: number
  /** Input already parsed by the schema (skips a second parse on the hot path). */
  parsed?: boolean
  /** The clock's timer for the attempt's timeout (the engine passes its own). @default the system clock */
  setTimer?: SetTimer
}

/** Calls `fn` after `ms`; returns a cancel function (a {@link Clock}'s `setTimer`). */
type SetTimer = (fn: () => void, ms: number) => () => void

type MaybePromise<T> = T | Promise<T>
type SchemaIn<S> = S extends ZodType ? z.input<S> : never
type SchemaOut<S> = S extends ZodType ? z.output<S> : never

/** The `execute` function type allowed by the schemas given (any input when there is no input schema). */
export type ExecuteFn<S extends ZodType | undefined, OS extends ZodType | undefined> = (
  input: S extends ZodType ? SchemaOut<S> : any,
  ctx: ActionContext,
) => OS extends ZodType ? MaybePromise<SchemaIn<OS>> : unknown

/** The definition given to {@link action.create}. */
export interface ActionConfig<S extends ZodType | undefined, OS extends ZodType | undefined, F extends ExecuteFn<S, OS>> {
  /** Unique id: letters, digits and `. _ - : @ /`, e.g. `send-welcome-email`. */
  id: string
  /** One sentence that says what the action does (shown in catalogs, admin UIs and LLM tool lists). */
  description: string
  /** Zod schema for the input; parsed before `execute` runs (a failure never calls `execute`). */
  input?: S
  /** Zod schema for the output; parsed after `execute` returns. */
  output?: OS
  /** Retry policy for failed attempts (p-retry options). @default { retries: 3, factor: 2, minTimeout: 1000 } */
  retry?: RetryOptions | false
  /** Per-attempt timeout (ms or `'30s'`); the attempt's `signal` is aborted when it passes. @default none */
  timeout?: Duration
  /** Does the work. Stateless: everything it needs comes in `input`. */
  execute: F
}

/** Input type of an action built from these parts: the schema's input, else `execute`'s parameter. */
export type InferActionInput<S, F> = S extends ZodType ? SchemaIn<S> : F extends (input: infer I, ...rest: any[]) => any ? I : never
/** Output type of an action built from these parts: the schema's output, else what `execute` resolves to. */
export type InferActionOutput<OS, F> = OS extends ZodType ? SchemaOut<OS> : F extends (...args: any[]) => infer R ? Awaited<R> : never

/** A JSON description of an action, for catalogs, admin UIs and LLM tools. */
export interface ActionDescription {
  id: string
  description: string
  /** JSON Schema (draft 2020-12) of the input, `{}` when the action has no schema. */
  inputSchema: Record<string, unknown>
  /** JSON Schema of the output, `{}` when the action has no schema. */
  outputSchema: Record<string, unknown>
  retry: ResolvedRetry
  timeoutMs?: number
}

/** An atomic, stateless unit of work. Create one with {@link action.create}. */
export interface Action<TIn = any, TOut = any> {
  readonly kind: 'action'
  readonly id: string
  readonly description: string
  readonly inputSchema?: ZodType
  readonly outputSchema?: ZodType
  readonly retry: ResolvedRetry
  readonly timeoutMs?: number
  /**
   * Runs the action standalone: validates the input, runs attempts with retries (p-retry) and
   * per-attempt timeouts, validates the output.
   * @throws ValidationError on bad input (execute is never called) or bad output
   * @throws ActionFailedError when every attempt failed (`cause` is the last error)
   */
  execute(input: TIn, options?: ExecuteOptions): Promise<TOut>
  /** One attempt without retries (the engine's entry point). Validates input unless `parsed`, and output. */
  attempt(input: unknown, options: AttemptOptions): Promise<TOut>
  /** Parses the input with the input schema; throws a ValidationError naming the action. */
  parseInput(input: unknown): Promise<unknown>
  describe(): ActionDescription
}

export type ActionInput<A> = A extends Action<infer I, any> ? I : never
export type ActionOutput<A> = A extends Action<any, infer O> ? O : never

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve()
    // Chained: a RetryAfterError of 30 days must not fire at once (setTimeout's 2^31-1 ms limit).
    const cancel = longTimer(done, ms, true)
    function done() {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort() {
      cancel()
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })

const jsonSchemaOf = (schema: ZodType | undefined, io: 'input' | 'output'): Record<string, unknown> => {
  if (!schema) return {}
  try {
    return toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>
  } catch {
    return {}
  }
}

let defaultLog: Logger | undefined
const logFor = (log: Logger | undefined) => log ?? (defaultLog ??= consoleLogger())

/** Runs `fn` under a timeout that aborts the signal it receives. */
export const withTimeout = async <T>(
  fn: (signal: AbortSignal) => Promise<T> | T,
  timeoutMs: number | undefined,
  outer: AbortSignal | undefined,
  what: string,
  /** Where the timeout's timer runs: chained past setTimeout's 24.8-day limit, or the engine's (virtual) clock. */
  setTimer: SetTimer = (fn, ms) => longTimer(fn, ms, true),
): Promise<T> => {
  if (outer?.aborted) throw outer.reason ?? new CancelledError(`${what} was cancelled`)
  if (timeoutMs === undefined && outer) return fn(outer)
  const controller = new AbortController()
  let cancelTimer: (() => void) | undefined
  const onOuterAbort = () => controller.abort(outer?.reason ?? new CancelledError(`${what} was cancelled`))
  outer?.addEventListener('abort', onOuterAbort, { once: true })
  try {
    if (timeoutMs === undefined) return await fn(controller.signal)
    const timedOut = new Promise<never>((_, reject) => {
      cancelTimer = setTimer(() => {
        const err = new TimeoutError(`${what} timed out after ${timeoutMs} ms`, timeoutMs)
        controller.abort(err)
        reject(err)
      }, timeoutMs)
    })
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })
    })
    return await Promise.race([Promise.resolve().then(() => fn(controller.signal)), timedOut, aborted])
  } finally {
    cancelTimer?.()
    outer?.removeEventListener('abort', onOuterAbort)
  }
}

function create<
  S extends ZodType | undefined = undefined,
  OS extends ZodType | undefined = undefined,
  F extends ExecuteFn<S, OS> = ExecuteFn<S, OS>,
>(config: ActionConfig<S, OS, F>): Action<InferActionInput<S, F>, InferActionOutput<OS, F>> {
  type TIn = InferActionInput<S, F>
  type TOut = InferActionOutput<OS, F>
  if (typeof config !== 'object' || config === null) throw new InvalidArgumentError('action.create needs a config object')
  const id = assertId(config.id, 'action id')
  if (typeof config.description !== 'string' || config.description.trim() === '') {
    throw new InvalidArgumentError(`Action "${id}" needs a description (one sentence that says what it does)`)
  }
  if (typeof config.execute !== 'function') throw new InvalidArgumentError(`Action "${id}" needs an execute function`)
  const retry = resolveRetry(config.retry)
  if (!Number.isInteger(retry.retries) || retry.retries < 0) {
    throw new InvalidArgumentError(`Action "${id}": retry.retries must be an integer >= 0, got ${String(retry.retries)}`)
  }
  const timeoutMs = config.timeout === undefined ? undefined : toMs(config.timeout, `timeout of action "${id}"`)
  const inputSchema = config.input as ZodType | undefined
  const outputSchema = config.output as ZodType | undefined

  const parseInput = (input: unknown) => parseWith(inputSchema, input, `input of action "${id}"`)

  const attempt = async (input: unknown, options: AttemptOptions): Promise<TOut> => {
    const parsed = options.parsed ? input : await parseInput(input)
    const log = logFor(options.log)
    const raw = await withTimeout(
      (signal) =>
        (config.execute as (input: unknown, ctx: ActionContext) => unknown)(parsed, {
          signal,
          attempt: options.attempt,
          idempotencyKey: options.idempotencyKey,
          log,
          runId: options.runId,
          stepId: options.stepId,
        }),
      options.timeoutMs ?? timeoutMs,
      options.signal,
      `Action "${id}" attempt ${options.attempt}`,
      options.setTimer,
    )
    return parseWith<TOut>(outputSchema, raw, `output of action "${id}"`)
  }

  const self: Action<TIn, TOut> = {
    kind: 'action',
    id,
    description: config.description,
    inputSchema,
    outputSchema,
    retry,
    timeoutMs,
    parseInput,
    attempt,
    async execute(input, options = {}) {
      const parsed = await parseInput(input)
      const policy = options.retry === undefined ? retry : resolveRetry(options.retry, retry)
      const idempotencyKey = options.idempotencyKey ?? randomUUID()
      const callTimeout = options.timeout === undefined ? undefined : toMs(options.timeout, `timeout of action "${id}"`)
      let attempts = 0
      let lastError: unknown
      try {
        return await pRetry(
          (n) => {
            attempts = n
            return attempt(parsed, {
              idempotencyKey,
              attempt: n,
              signal: options.signal,
              log: options.log,
              parsed: true,
              timeoutMs: callTimeout,
            })
          },
          {
            retries: policy.retries,
            minTimeout: 0,
            factor: 1,
            signal: options.signal,
            shouldRetry: ({ error }) => isRetryable(error) && !options.signal?.aborted,
            // p-retry runs the loop and keeps count; the delay is ours so that it matches the
            // engine's durable retries exactly and honours RetryAfterError.
            onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
              lastError = error
              if (retriesLeft > 0 && isRetryable(error)) {
                await sleep(retryDelay(policy, attemptNumber, error), options.signal)
              }
            },
          },
        )
      } catch (error) {
        const err = toError(lastError ?? error)
        if (!isRetryable(err) || attempts <= 1) throw err
        throw new ActionFailedError(`Action "${id}" failed after ${attempts} attempts: ${err.message}`, id, attempts, { cause: err })
      }
    },
    describe() {
      return {
        id,
        description: config.description,
        inputSchema: jsonSchemaOf(inputSchema, 'input'),
        outputSchema: jsonSchemaOf(outputSchema, 'output'),
        retry,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      }
    },
  }
  return Object.freeze(self)
}

/** Lists actions as JSON (id, description, JSON Schemas), e.g. for an admin UI or as LLM tools. */
const catalog = (actions: Iterable<Action>): ActionDescription[] => [...actions].map((a) => a.describe())

/** True when `value` is an action made by {@link action.create}. */
const isAction = (value: unknown): value is Action =>
  typeof value === 'object' && value !== null && (value as Action).kind === 'action' && typeof (value as Action).attempt === 'function'

/**
 * Actions: atomic, stateless units of work.
 *
 * @example
 * ```ts
 * const sendWelcomeEmail = action.create({
 *   id: 'send-welcome-email',
 *   description: 'Sends a welcome email to a new user.',
 *   input: z.object({ email: z.string().email(), name: z.string() }),
 *   execute: async ({ email, name }, { idempotencyKey }) => ({ success: true, messageId: 'xyz-123' }),
 * })
 * await sendWelcomeEmail.execute({ email: 'jane.doe@example.com', name: 'Jane Doe' })
 * ```
 */
export const action = { create, catalog, isAction }

export type { z }
