import { CancelledError, DoSdkError, ErrorCodes, RetryAfterError, ValidationError } from './errors.js'

/**
 * How an action retries after a failed attempt (the names and meanings are p-retry's).
 * Delay before retry n (1-based) = `min(maxTimeout, minTimeout * factor^(n-1))`, times a random
 * factor in [1, 2) when `randomize` is set.
 */
export interface RetryOptions {
  /** Retries after the first attempt (so `retries: 3` means up to 4 attempts). @default 3 */
  retries?: number
  /** Exponential factor between delays. @default 2 */
  factor?: number
  /** Delay before the first retry, in ms. @default 1000 */
  minTimeout?: number
  /** Largest delay between two attempts, in ms. @default Infinity */
  maxTimeout?: number
  /** Multiply each delay by a random factor between 1 and 2. @default false */
  randomize?: boolean
}

export type ResolvedRetry = Required<RetryOptions>

export const DEFAULT_RETRY: ResolvedRetry = {
  retries: 3,
  factor: 2,
  minTimeout: 1_000,
  maxTimeout: Number.POSITIVE_INFINITY,
  randomize: false,
}
export const NO_RETRY: ResolvedRetry = { ...DEFAULT_RETRY, retries: 0 }

export const resolveRetry = (options: RetryOptions | false | undefined, base: ResolvedRetry = DEFAULT_RETRY): ResolvedRetry => {
  if (options === false) return NO_RETRY
  return { ...base, ...Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) }
}

/** Delay in ms before retry number `retry` (1-based), honouring a {@link RetryAfterError}. */
export const retryDelay = (policy: ResolvedRetry, retry: number, error?: unknown, random = Math.random): number => {
  if (error instanceof RetryAfterError || DoSdkError.hasCode(error, ErrorCodes.RETRY_AFTER)) {
    return (error as RetryAfterError).retryAfterMs
  }
  const jitter = policy.randomize ? 1 + random() : 1
  return Math.min(policy.maxTimeout, Math.round(policy.minTimeout * jitter * policy.factor ** Math.max(0, retry - 1)))
}

const NETWORK_TYPE_ERRORS = ['fetch failed', 'network error', 'Failed to fetch', 'terminated', 'Load failed']

/**
 * Whether another attempt may help. Not retried: {@link ValidationError}, {@link NonRetryableError},
 * {@link CancelledError}, and programming errors (`TypeError`s other than network failures), as p-retry does.
 */
export const isRetryable = (error: unknown): boolean => {
  if (DoSdkError.isInstance(error)) {
    return ![
      ErrorCodes.NON_RETRYABLE,
      ErrorCodes.VALIDATION,
      ErrorCodes.CANCELLED,
      ErrorCodes.SERIALIZATION,
      ErrorCodes.SIZE_LIMIT,
      ErrorCodes.NON_DETERMINISM,
      ErrorCodes.HOOK,
    ].includes(error.code as never)
  }
  if (error instanceof ValidationError || error instanceof CancelledError) return false
  if (error instanceof TypeError) return NETWORK_TYPE_ERRORS.some((m) => error.message.includes(m))
  return true
}
