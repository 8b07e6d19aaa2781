import { inspect } from 'node:util'
import { isRetryable, NonRetryableError } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { classify } from '../src/classify.js'
import { ConstraintViolationError, DatabaseError } from '../src/errors.js'
import { toActionError } from '../src/failure.js'

// Error shapes as pg, mysql2 and better-sqlite3 throw them (code, errno, constraint fields).
const pgError = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`pg ${code}`), { code, ...extra })
const myError = (errno: number, code: string, message: string) =>
  Object.assign(new Error(message), { errno, code, sqlState: 'HY000', sqlMessage: message })
const liteError = (code: string, message: string) => Object.assign(new Error(message), { code })

describe('classify', () => {
  // docs/packs/database.md: "connection refused/reset/lost, timeout, deadlock (`40P01`, `ER_LOCK_DEADLOCK`), serialization failure (`40001`), lock wait timeout, too many connections, server shutting down, `SQLITE_BUSY`/`SQLITE_LOCKED`"
  it.each([
    ['postgres', pgError('40P01'), 'deadlock'],
    ['postgres', pgError('40001'), 'serialization failure'],
    ['postgres', pgError('08006'), 'connection failure'],
    ['postgres', pgError('57P01'), 'admin shutdown'],
    ['postgres', pgError('53300'), 'too many connections'],
    ['postgres', new Error('Connection terminated unexpectedly'), 'pg lost connection'],
    ['mysql', myError(1213, 'ER_LOCK_DEADLOCK', 'Deadlock found'), 'deadlock'],
    ['mysql', myError(1205, 'ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded'), 'lock wait timeout'],
    ['mysql', Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'connection lost'],
    ['sqlite', liteError('SQLITE_BUSY', 'database is locked'), 'busy'],
    ['sqlite', Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }), 'reset socket'],
  ] as const)('%s: retries a %s', (dialect, error, _what) => {
    expect(classify(dialect, error).kind).toBe('transient')
    const thrown = toActionError(error, { dialect, op: 'insert', table: 't', secrets: [] })
    expect(thrown).toBeInstanceOf(DatabaseError)
    expect(isRetryable(thrown)).toBe(true)
  })

  // docs/packs/database.md: "unique, foreign key, check, not-null or exclusion violation"
  it.each([
    ['postgres', pgError('23505', { constraint: 'users_email_key' }), 'unique', 'users_email_key'],
    ['postgres', pgError('23502', { column: 'email' }), 'not_null', 'email'],
    ['mysql', myError(1062, 'ER_DUP_ENTRY', "Duplicate entry 'a' for key 'users.users_email_uq'"), 'unique', 'users_email_uq'],
    ['mysql', myError(3819, 'ER_CHECK_CONSTRAINT_VIOLATED', "Check constraint 'age_ok' is violated."), 'check', 'age_ok'],
    ['sqlite', liteError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: users.email'), 'unique', 'users.email'],
    ['sqlite', liteError('SQLITE_CONSTRAINT_FOREIGNKEY', 'FOREIGN KEY constraint failed'), 'foreign_key', undefined],
  ] as const)('%s: a constraint violation is never retried (%s %s)', (dialect, error, kind, constraint) => {
    const thrown = toActionError(error, { dialect, op: 'insert', table: 't', secrets: [] }) as ConstraintViolationError
    expect(thrown).toBeInstanceOf(ConstraintViolationError)
    expect(thrown).toMatchObject({ kind, constraint })
    expect(isRetryable(thrown)).toBe(false)
  })

  // docs/packs/database.md: "any other SQL error (syntax, missing table or column, permission, wrong password) | `NonRetryableError` (SQLSTATE or driver code in the message)"
  it('fails other SQL errors at once and keeps programming errors as they are', () => {
    const syntax = toActionError(pgError('42601'), { dialect: 'postgres', op: 'query', secrets: [] })
    expect(syntax).toBeInstanceOf(NonRetryableError)
    expect(syntax.message).toContain('(42601)')
    const typeError = new TypeError('x is not a function')
    expect(toActionError(typeError, { dialect: 'sqlite', op: 'select', secrets: [] })).toBe(typeError)
  })

  // docs/packs/database.md: "scrubbed of the connection string and the password (raw and URL-encoded)"
  it('removes secrets from the message and from the driver error it wraps', () => {
    const cause = Object.assign(new Error('could not connect to postgres://app:hunter2@db/app'), { code: 'ECONNREFUSED' })
    const thrown = toActionError(cause, { dialect: 'postgres', op: 'select', secrets: ['postgres://app:hunter2@db/app', 'hunter2'] })
    expect(inspect(thrown, { depth: 8 })).not.toContain('hunter2')
    expect(thrown.message).toContain('could not connect to ***')
  })
})
