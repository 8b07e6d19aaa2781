/**
 * Every error do-sdk throws is a {@link DoSdkError} with a stable `code`.
 * Codes are listed in `docs/errors.md`; a test keeps that table complete.
 */

/** All error codes, in one place. The value is the stable, documented code. */
export const ErrorCodes = {
  VALIDATION: 'ERR_VALIDATION',
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  NON_RETRYABLE: 'ERR_NON_RETRYABLE',
  RETRY_AFTER: 'ERR_RETRY_AFTER',
  TIMEOUT: 'ERR_TIMEOUT',
  ACTION_FAILED: 'ERR_ACTION_FAILED',
  NON_DETERMINISM: 'ERR_NON_DETERMINISM',
  SERIALIZATION: 'ERR_SERIALIZATION',
  SIZE_LIMIT: 'ERR_SIZE_LIMIT',
  RUN_NOT_FOUND: 'ERR_RUN_NOT_FOUND',
  WORKFLOW_NOT_FOUND: 'ERR_WORKFLOW_NOT_FOUND',
  RUN_FAILED: 'ERR_RUN_FAILED',
  CANCELLED: 'ERR_CANCELLED',
  STORE: 'ERR_STORE',
  CONFLICT: 'ERR_CONFLICT',
  LEASE_LOST: 'ERR_LEASE_LOST',
  CAPABILITY: 'ERR_CAPABILITY',
  CORRUPT_RECORD: 'ERR_CORRUPT_RECORD',
  ENGINE_STATE: 'ERR_ENGINE_STATE',
  HOOK: 'ERR_HOOK',
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  SCHEDULE_NOT_FOUND: 'ERR_SCHEDULE_NOT_FOUND',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

const MARKER = Symbol.for('do-sdk.error')

/** Options common to every do-sdk error. */
export interface DoSdkErrorOptions {
  cause?: unknown
}

/**
 * Base class of every do-sdk error.
 *
 * Use {@link DoSdkError.isInstance} rather than `instanceof` when two copies of
 * `@do-sdk/core` may be installed (a marker symbol is checked, not the class).
 */
export class DoSdkError extends Error {
  readonly [MARKER] = true
  /** Stable machine-readable code, e.g. `ERR_VALIDATION`. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options: DoSdkErrorOptions = {}) {
    super(
      message.startsWith('[do-sdk]') ? message : `[do-sdk] ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = 'DoSdkError'
    this.code = code
  }

  /** True for any do-sdk error, from any installed copy of the package. */
  static isInstance(value: unknown): value is DoSdkError {
    return isDoSdkError(value)
  }

  /** True when `value` is a do-sdk error with this code. */
  static hasCode(value: unknown, code: ErrorCode): value is DoSdkError {
    return isDoSdkError(value) && value.code === code
  }
}

// Module-level helpers, so that no class body names its own class: esbuild would then emit
// `class _X` and the class's `name` would be `_X` (the build does not use keepNames, see tsup.base.ts).
const isDoSdkError = (value: unknown): value is DoSdkError =>
  typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true

/** One problem found by a schema, with the path to the offending value. */
export interface ValidationIssue {
  path: (string | number)[]
  message: string
  code?: string
}

/** Input, output, state or event data did not match its zod schema. Never retried. */
export class ValidationError extends DoSdkError {
  /** The zod issues, with their paths. */
  readonly issues: ValidationIssue[]
  /** What was being validated, e.g. `input of action "send-email"`. */
  readonly subject: string

  constructor(subject: string, issues: ValidationIssue[], options?: DoSdkErrorOptions) {
    const detail = issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ')
    super(ErrorCodes.VALIDATION, `Invalid ${subject}: ${detail}`, options)
    this.name = 'ValidationError'
    this.issues = issues
    this.subject = subject
  }

  /**
   * Builds a ValidationError from a zod error (or anything with zod-like `issues`), e.g. to refuse
   * input in your own route with the same shape do-sdk uses.
   */
  static fromZod(
    subject: string,
    error: { issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[] },
  ): ValidationError {
    return validationErrorFromZod(subject, error)
  }
}

const validationErrorFromZod = (
  subject: string,
  error: { issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[] },
): ValidationError => {
  const issues = error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as (string | number)[],
    message: i.message,
    code: i.code,
  }))
  return new ValidationError(subject, issues, { cause: error })
}

/** A bad argument or option given to a do-sdk API (an id, a duration, a config value). */
export class InvalidArgumentError extends DoSdkError {
  constructor(message: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.INVALID_ARGUMENT, message, options)
    this.name = 'InvalidArgumentError'
  }
}

/** Throw from an action to stop retrying at once; the step fails with this error. */
export class NonRetryableError extends DoSdkError {
  constructor(message: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.NON_RETRYABLE, message, options)
    this.name = 'NonRetryableError'
  }
}

/**
 * Throw from an action to retry after a given delay (e.g. an HTTP `Retry-After`).
 * Inside a workflow a long delay becomes a durable timer, not an in-process sleep.
 */
export class RetryAfterError extends DoSdkError {
  /** Milliseconds to wait before the next attempt. */
  readonly retryAfterMs: number

  constructor(message: string, retryAfterMs: number, options?: DoSdkErrorOptions) {
    super(ErrorCodes.RETRY_AFTER, message, options)
    this.name = 'RetryAfterError'
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new InvalidArgumentError(`RetryAfterError needs a delay >= 0 in ms, got ${String(retryAfterMs)}`)
    }
    this.retryAfterMs = retryAfterMs
  }
}

/** An action attempt (or a step) ran longer than its timeout; its `AbortSignal` was aborted. */
export class TimeoutError extends DoSdkError {
  readonly timeoutMs: number
  constructor(message: string, timeoutMs: number, options?: DoSdkErrorOptions) {
    super(ErrorCodes.TIMEOUT, message, options)
    this.name = 'TimeoutError'
    this.timeoutMs = timeoutMs
  }
}

/** An action failed after all its attempts; `cause` is the last attempt's error. */
export class ActionFailedError extends DoSdkError {
  readonly actionId: string
  readonly attempts: number
  constructor(message: string, actionId: string, attempts: number, options?: DoSdkErrorOptions) {
    super(ErrorCodes.ACTION_FAILED, message, options)
    this.name = 'ActionFailedError'
    this.actionId = actionId
    this.attempts = attempts
  }
}

/** The run's journal no longer fits the workflow code (a step renamed, reordered or removed). */
export class NonDeterminismError extends DoSdkError {
  readonly runId: string
  /** The step the code reached (or the journaled step it never reached). */
  readonly stepId: string
  /** The step the journal has at that point, when it differs from `stepId`. */
  readonly journalStepId?: string
  constructor(message: string, runId: string, stepId: string, journalStepId?: string) {
    super(ErrorCodes.NON_DETERMINISM, message)
    this.name = 'NonDeterminismError'
    this.runId = runId
    this.stepId = stepId
    if (journalStepId !== undefined) this.journalStepId = journalStepId
  }
}

/** A value cannot be stored: a function, a symbol, a cycle… `path` names the field. */
export class SerializationError extends DoSdkError {
  readonly path: string
  constructor(message: string, path: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.SERIALIZATION, message, options)
    this.name = 'SerializationError'
    this.path = path
  }
}

/** A step's input or output, or a run's state, is larger than the configured limit. */
export class SizeLimitError extends DoSdkError {
  readonly bytes: number
  readonly limit: number
  constructor(message: string, bytes: number, limit: number) {
    super(ErrorCodes.SIZE_LIMIT, message)
    this.name = 'SizeLimitError'
    this.bytes = bytes
    this.limit = limit
  }
}

/** No run with this id exists in the store. */
export class RunNotFoundError extends DoSdkError {
  readonly runId: string
  constructor(runId: string) {
    super(ErrorCodes.RUN_NOT_FOUND, `Run "${runId}" not found`)
    this.name = 'RunNotFoundError'
    this.runId = runId
  }
}

/** The engine was asked about a workflow (id and version) it was not given. */
export class WorkflowNotFoundError extends DoSdkError {
  readonly workflowId: string
  constructor(message: string, workflowId: string) {
    super(ErrorCodes.WORKFLOW_NOT_FOUND, message)
    this.name = 'WorkflowNotFoundError'
    this.workflowId = workflowId
  }
}

/** `run.result()` of a run that failed; `cause` is the run's error. */
export class RunFailedError extends DoSdkError {
  readonly runId: string
  constructor(message: string, runId: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.RUN_FAILED, message, options)
    this.name = 'RunFailedError'
    this.runId = runId
  }
}

/** The run (or the action attempt) was cancelled. */
export class CancelledError extends DoSdkError {
  constructor(message: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.CANCELLED, message, options)
    this.name = 'CancelledError'
  }
}

/** The Datastore failed (unreachable, refused a write). Never read as "not found". */
export class StoreError extends DoSdkError {
  readonly store: string
  constructor(message: string, store: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.STORE, message, options)
    this.name = 'StoreError'
    this.store = store
  }
}

/** A compare-and-set lost a race: the record changed since it was read. */
export class ConflictError extends DoSdkError {
  readonly key: string
  constructor(message: string, key: string) {
    super(ErrorCodes.CONFLICT, message)
    this.name = 'ConflictError'
    this.key = key
  }
}

/** This engine no longer owns the run (its lease expired and another process took it). */
export class LeaseLostError extends DoSdkError {
  readonly runId: string
  constructor(message: string, runId: string) {
    super(ErrorCodes.LEASE_LOST, message)
    this.name = 'LeaseLostError'
    this.runId = runId
  }
}

/** The Datastore cannot give what was asked of it (e.g. several processes on a single-process store). */
export class CapabilityError extends DoSdkError {
  constructor(message: string) {
    super(ErrorCodes.CAPABILITY, message)
    this.name = 'CapabilityError'
  }
}

/** A stored record could not be read back (corrupt, truncated or from an unknown format). */
export class CorruptRecordError extends DoSdkError {
  readonly key: string
  constructor(message: string, key: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.CORRUPT_RECORD, message, options)
    this.name = 'CorruptRecordError'
    this.key = key
  }
}

/** The engine is not in a state to do this (not started, stopping, registration closed). */
export class EngineStateError extends DoSdkError {
  constructor(message: string) {
    super(ErrorCodes.ENGINE_STATE, message)
    this.name = 'EngineStateError'
  }
}

/** A hook or plugin misbehaved (unknown hook name, `next()` called twice, an observer threw). */
export class HookError extends DoSdkError {
  constructor(message: string, options?: DoSdkErrorOptions) {
    super(ErrorCodes.HOOK, message, options)
    this.name = 'HookError'
  }
}

/**
 * `engine.trigger` of a workflow with `rateLimit`: the key had `limit` runs within the last
 * `period`, so this one was dropped (nothing was written). `retryAt` is when a run of the key would
 * be admitted again.
 */
export class RateLimitedError extends DoSdkError {
  readonly workflowId: string
  /** The rate-limit key, as `rateLimit.key(input)` returned it (`''` without a key). */
  readonly key: string
  readonly limit: number
  /** The period, ms. */
  readonly periodMs: number
  /** Unix ms from which a run of this key would be admitted. */
  readonly retryAt: number
  constructor(workflowId: string, key: string, limit: number, periodMs: number, retryAt: number) {
    super(
      ErrorCodes.RATE_LIMITED,
      `Workflow "${workflowId}"${key ? ` key "${key}"` : ''}: rate limit of ${limit} runs per ${periodMs} ms reached; the run was dropped (next admitted at ${new Date(retryAt).toISOString()})`,
    )
    this.name = 'RateLimitedError'
    this.workflowId = workflowId
    this.key = key
    this.limit = limit
    this.periodMs = periodMs
    this.retryAt = retryAt
  }
}

/** No schedule with this id exists (`engine.schedules`). */
export class ScheduleNotFoundError extends DoSdkError {
  readonly scheduleId: string
  constructor(scheduleId: string) {
    super(ErrorCodes.SCHEDULE_NOT_FOUND, `Schedule "${scheduleId}" not found`)
    this.name = 'ScheduleNotFoundError'
    this.scheduleId = scheduleId
  }
}

/** Turns anything thrown into an Error (a thrown string becomes its message). */
export const toError = (value: unknown): Error => {
  if (value instanceof Error) return value
  if (typeof value === 'object' && value !== null && 'message' in value) {
    return Object.assign(new Error(String((value as { message: unknown }).message)), value)
  }
  return new Error(typeof value === 'string' ? value : JSON.stringify(value))
}

/** The class of a do-sdk error code, to rebuild stored errors as their own class. */
export const errorClassOf = (code: string): (abstract new (...args: never[]) => DoSdkError) | undefined =>
  (
    ({
      ERR_VALIDATION: ValidationError,
      ERR_INVALID_ARGUMENT: InvalidArgumentError,
      ERR_NON_RETRYABLE: NonRetryableError,
      ERR_RETRY_AFTER: RetryAfterError,
      ERR_TIMEOUT: TimeoutError,
      ERR_ACTION_FAILED: ActionFailedError,
      ERR_NON_DETERMINISM: NonDeterminismError,
      ERR_SERIALIZATION: SerializationError,
      ERR_SIZE_LIMIT: SizeLimitError,
      ERR_RUN_NOT_FOUND: RunNotFoundError,
      ERR_WORKFLOW_NOT_FOUND: WorkflowNotFoundError,
      ERR_RUN_FAILED: RunFailedError,
      ERR_CANCELLED: CancelledError,
      ERR_STORE: StoreError,
      ERR_CONFLICT: ConflictError,
      ERR_LEASE_LOST: LeaseLostError,
      ERR_CAPABILITY: CapabilityError,
      ERR_CORRUPT_RECORD: CorruptRecordError,
      ERR_ENGINE_STATE: EngineStateError,
      ERR_HOOK: HookError,
      ERR_RATE_LIMITED: RateLimitedError,
      ERR_SCHEDULE_NOT_FOUND: ScheduleNotFoundError,
    }) as Record<string, (abstract new (...args: never[]) => DoSdkError) | undefined>
  )[code]
