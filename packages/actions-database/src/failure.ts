import { DoSdkError, NonRetryableError } from '@do-sdk/core'
import { classify } from './classify.js'
import { ConstraintViolationError, DatabaseError, type Dialect } from './errors.js'

/** Where a failure happened, for the message. */
export interface FailureContext {
  dialect: Dialect
  /** The action's verb: insert, update, select… */
  op: string
  table?: string
  /** Strings that must never appear in an error: the connection string, the password (raw and URL-encoded). */
  secrets: readonly string[]
}

/** Replaces every secret in `text` with `***`. */
export const redact = (text: string, secrets: readonly string[]): string =>
  secrets.reduce((out, secret) => (secret ? out.split(secret).join('***') : out), text)

// Driver errors end up in logs and in the run's journal: scrub them (and their causes) in place.
const scrub = (error: unknown, secrets: readonly string[], depth = 0): void => {
  if (depth > 4 || typeof error !== 'object' || error === null || secrets.length === 0) return
  const err = error as Record<string, unknown>
  for (const key of ['message', 'stack', 'sql', 'sqlMessage', 'detail', 'hint']) {
    if (typeof err[key] === 'string') {
      try {
        err[key] = redact(err[key] as string, secrets)
      } catch {
        // a read-only property: leave it, the wrapper's message is redacted anyway
      }
    }
  }
  scrub(err.cause, secrets, depth + 1)
}

/**
 * Turns whatever a driver threw into the error the action throws: a retryable {@link DatabaseError}, a
 * {@link ConstraintViolationError} (non-retryable, names the constraint), or a `NonRetryableError`. Every
 * message is free of connection secrets.
 */
export const toActionError = (error: unknown, ctx: FailureContext): Error => {
  if (DoSdkError.isInstance(error)) return error
  scrub(error, ctx.secrets)
  const raw = error instanceof Error ? error.message : String(error)
  const detail = redact(raw, ctx.secrets)
  const where = `[do-sdk] [database:${ctx.dialect}] ${ctx.op}${ctx.table === undefined ? '' : ` on "${ctx.table}"`}`
  const c = classify(ctx.dialect, error)
  switch (c.kind) {
    case 'constraint': {
      const name = c.constraint === undefined ? '' : ` "${c.constraint}"`
      return new ConstraintViolationError(
        `${where} violated ${c.constraintKind.replace('_', ' ')} constraint${name}: ${detail}`,
        { constraint: c.constraint, kind: c.constraintKind, dialect: ctx.dialect, table: ctx.table },
        { cause: error },
      )
    }
    case 'permanent':
      return new NonRetryableError(`${where} failed${c.code ? ` (${c.code})` : ''}: ${detail}`, { cause: error })
    case 'transient':
      return new DatabaseError(`${where} failed${c.code ? ` (${c.code})` : ''}, may succeed on retry: ${detail}`, ctx.dialect, c.code, {
        cause: error,
      })
    default:
      // Programming errors (TypeError, RangeError…) keep their class: core does not retry them.
      if (error instanceof Error && error.constructor !== Error) return error
      return new DatabaseError(`${where} failed: ${detail}`, ctx.dialect, undefined, { cause: error })
  }
}
