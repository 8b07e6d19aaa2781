import { inspect } from 'node:util'
import { ActionFailedError, NonRetryableError } from '@do-sdk/core'
import { expect, it } from 'vitest'
import { ConstraintViolationError, DatabaseError, databaseActions } from '../../src/index.js'
import { countingLogger, rejection, type SuiteContext } from './context.js'

const retry = { retries: 3, minTimeout: 0, factor: 1 }

/** Constraint violations fail at once and name the constraint; transient failures are retried; no secret leaks. */
export const errorTests = (t: SuiteContext) => {
  const violation = async (run: (log: ReturnType<typeof countingLogger>['log']) => Promise<unknown>) => {
    const counter = countingLogger()
    const err = await rejection(run(counter.log))
    expect(err).toBeInstanceOf(ConstraintViolationError)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(counter.failedAttempts()).toBe(1)
    return err as ConstraintViolationError
  }

  // docs/packs/database.md: "`ConstraintViolationError` (a `NonRetryableError`) with `constraint` (the name; SQLite gives `table.column`), `kind`, `table`"
  it('a unique violation is a ConstraintViolationError naming the constraint, never retried', async () => {
    await t.db.insert.execute({ table: 'users', values: { email: 'a@x' } })
    const err = await violation((log) => t.db.insert.execute({ table: 'users', values: { email: 'a@x' } }, { retry, log }))
    expect(err.kind).toBe('unique')
    expect(err.constraint).toBe(t.harness.dialect === 'sqlite' ? 'users.email' : 'users_email_uq')
    expect(err.table).toBe('users')
    expect(err.message).toContain(`"${err.constraint}"`)
    expect(await t.harness.exec('SELECT email FROM users')).toEqual([{ email: 'a@x' }])
  })

  // docs/packs/database.md: "unique, foreign key, check, not-null or exclusion violation"
  it('a foreign key, a check and a not-null violation are named too', async () => {
    const fk = await violation((log) => t.db.insert.execute({ table: 'orders', values: { user_id: 999 } }, { retry, log }))
    expect(fk.kind).toBe('foreign_key')
    if (t.harness.dialect !== 'sqlite') expect(fk.constraint).toBe('orders_user_fk')
    const check = await violation((log) => t.db.insert.execute({ table: 'users', values: { email: 'c@x', age: -1 } }, { retry, log }))
    expect(check.kind).toBe('check')
    expect(check.constraint).toBe('users_age_check')
    const notNull = await violation((log) =>
      t.db.upsert.execute({ table: 'users', values: { email: null }, conflict: ['email'] }, { retry, log }),
    )
    expect(notNull.kind).toBe('not_null')
    expect(notNull.constraint).toMatch(/email/)
  })

  // docs/packs/database.md: "any other SQL error (syntax, missing table or column, permission, wrong password) | `NonRetryableError`"
  it('a missing table fails at once with a NonRetryableError', async () => {
    const counter = countingLogger()
    const err = await rejection(t.db.select.execute({ table: 'no_such_table' }, { retry, log: counter.log }))
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err).not.toBeInstanceOf(ConstraintViolationError)
    expect(err.message).toContain('no_such_table')
    expect(counter.failedAttempts()).toBe(1)
  })

  // docs/packs/database.md: "`DatabaseError` (`retryable: true`, `driverCode`) | yes, by the action's policy; then `ActionFailedError` with it as `cause`"
  it('a transient failure (connection refused, locked file) is retried, then fails with the last DatabaseError', async () => {
    const { options, release } = await t.harness.transient()
    const db = databaseActions({ ...options, retry: { retries: 2, minTimeout: 0 } })
    try {
      const counter = countingLogger()
      const err = await rejection(db.insert.execute({ table: 'users', values: { email: 'r@x' } }, { log: counter.log }))
      expect(err).toBeInstanceOf(ActionFailedError)
      expect(err.attempts).toBe(3)
      expect(err.cause).toBeInstanceOf(DatabaseError)
      expect((err.cause as DatabaseError).retryable).toBe(true)
      expect(counter.failedAttempts()).toBe(3)
    } finally {
      await db.close()
      await release()
    }
  })

  // docs/packs/database.md: "Every error's message, stack and `cause` (the driver's error) are scrubbed of the connection string and the password"
  it('never shows the password or connection string in an error', async () => {
    const wrong = t.harness.wrongPassword
    if (!wrong) return // SQLite has no credentials
    const db = databaseActions({ ...wrong.options, retry: false })
    try {
      const err = await rejection(db.select.execute({ table: 'users' }))
      expect(err).toBeInstanceOf(NonRetryableError)
      const shown = `${inspect(err, { depth: 8 })}\n${String(err.stack)}\n${JSON.stringify(err)}`
      for (const secret of wrong.secrets) expect(shown).not.toContain(secret)
    } finally {
      await db.close()
    }
    const dead = await t.harness.transient()
    const deadDb = databaseActions({ ...dead.options, retry: false })
    try {
      const err = await rejection(deadDb.select.execute({ table: 'users' }))
      const shown = `${inspect(err, { depth: 8 })}\n${String(err.stack)}`
      for (const secret of wrong.secrets) expect(shown).not.toContain(secret)
    } finally {
      await deadDb.close()
      await dead.release()
    }
  })

  // docs/packs/database.md: "`connectionString` (`postgres://…`) **or** `pool`"
  it('connects through the other option form too, and close() makes the actions refuse', async () => {
    const alt = databaseActions(t.harness.altOptions)
    await alt.insert.execute({ table: 'users', values: { email: 'alt@x' } })
    expect((await alt.select.execute({ table: 'users', columns: ['email'] })).rows).toEqual([{ email: 'alt@x' }])
    await alt.close()
    await alt.close()
    expect(await rejection(alt.select.execute({ table: 'users' }))).toBeInstanceOf(NonRetryableError)
    // The pack under test still works: closing one pack leaves other connections alone.
    expect((await t.db.select.execute({ table: 'users', columns: ['email'] })).rows).toEqual([{ email: 'alt@x' }])
  })

  // docs/packs/database.md: "more fails with a `NonRetryableError` instead of truncating silently"
  it('refuses more than maxRows rows instead of truncating', async () => {
    const small = databaseActions({ ...t.harness.options, maxRows: 2 })
    try {
      await small.insert.execute({ table: 'users', rows: [{ email: 'a@x' }, { email: 'b@x' }, { email: 'c@x' }] })
      expect(await rejection(small.select.execute({ table: 'users' }))).toBeInstanceOf(NonRetryableError)
      expect((await small.select.execute({ table: 'users', limit: 2 })).rows).toHaveLength(2)
      expect(await rejection(small.select.execute({ table: 'users', limit: 3 }))).toBeInstanceOf(Error)
      expect(await rejection(small.query.execute({ sql: 'SELECT * FROM users' }))).toBeInstanceOf(NonRetryableError)
    } finally {
      await small.close()
    }
  })
}
