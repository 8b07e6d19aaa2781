import { NonRetryableError, ValidationError } from '@do-sdk/core'
import { expect, it } from 'vitest'
import { ConstraintViolationError } from '../../src/index.js'
import { rejection, type SuiteContext } from './context.js'

/** `insert` with an idempotencyKey column: at-least-once attempts, one row. */
export const idempotencyTests = (t: SuiteContext) => {
  const input = { table: 'users', values: { email: 'jane@example.com', name: 'Jane' }, idempotencyKey: 'request_key' }
  const stored = () => t.harness.exec('SELECT email, request_key FROM users')

  // docs/packs/database.md: "`duplicate: false` the first time and `duplicate: true` (and `affected: 0`) on a retried attempt"
  it('the same attempt run twice with the same key writes one row and returns it both times', async () => {
    const key = 'onboarding:usr_1:create-user#1'
    const first = await t.db.insert.attempt(input, { idempotencyKey: key, attempt: 1 })
    const retried = await t.db.insert.attempt(input, { idempotencyKey: key, attempt: 2 })
    expect(first).toMatchObject({ affected: 1, duplicate: false })
    expect(first.rows).toEqual([
      { id: expect.anything(), email: 'jane@example.com', name: 'Jane', age: null, meta: null, request_key: key },
    ])
    expect(retried).toEqual({ rows: first.rows, affected: 0, duplicate: true })
    expect(await stored()).toEqual([{ email: 'jane@example.com', request_key: key }])
  })

  // docs/packs/database.md: "the output is the row (all columns, or `returning`)"
  it('returns the existing row with the returning columns, through execute() too', async () => {
    const opts = { idempotencyKey: 'run-2:step-1' }
    const first = await t.db.insert.execute({ ...input, returning: ['email'] }, opts)
    const again = await t.db.insert.execute({ ...input, returning: ['email'] }, opts)
    expect(first.rows).toEqual([{ email: 'jane@example.com' }])
    expect(again).toEqual({ rows: [{ email: 'jane@example.com' }], affected: 0, duplicate: true })
  })

  // docs/packs/database.md: "Two attempts racing with the same key still write one row."
  it('two attempts racing with the same key still write one row', async () => {
    const key = 'run-3:step-1'
    const results = await Promise.all([1, 2].map((attempt) => t.db.insert.attempt(input, { idempotencyKey: key, attempt })))
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true])
    expect(results[0].rows).toEqual(results[1].rows)
    expect(await stored()).toHaveLength(1)
  })

  // docs/packs/database.md: "A duplicate on *another* unique key with no row holding this key is a real constraint violation and fails as one."
  it('another key is another row; a clash on another unique column is a constraint violation, not a duplicate', async () => {
    await t.db.insert.attempt(input, { idempotencyKey: 'k1', attempt: 1 })
    const err = await rejection(t.db.insert.attempt(input, { idempotencyKey: 'k2', attempt: 1 }))
    expect(err).toBeInstanceOf(ConstraintViolationError)
    expect(err.constraint).toMatch(t.harness.dialect === 'sqlite' ? 'users.email' : 'users_email_uq')
    const other = await t.db.insert.attempt({ ...input, values: { email: 'john@example.com' } }, { idempotencyKey: 'k2', attempt: 1 })
    expect(other.duplicate).toBe(false)
    expect(await stored()).toHaveLength(2)
  })

  // docs/packs/database.md: "A key column without a unique constraint fails with a `NonRetryableError`."
  it('refuses a key column without a unique constraint of its own, writing nothing', async () => {
    const noUnique = { table: 'events', values: { label: 'x' }, idempotencyKey: 'request_key' }
    const err = await rejection(t.db.insert.execute(noUnique, { idempotencyKey: 'k', retry: { retries: 2, minTimeout: 0 } }))
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(await t.harness.exec('SELECT * FROM events')).toEqual([])
  })

  // docs/packs/database.md: "An idempotent insert takes `values` (one row), and `values` must not set the key column."
  it('refuses several rows or a value for the key column', async () => {
    const rows = await rejection(t.db.insert.execute({ table: 'users', rows: [{ email: 'a@x' }], idempotencyKey: 'request_key' }))
    expect(rows).toBeInstanceOf(ValidationError)
    const preset = await rejection(t.db.insert.execute({ ...input, values: { email: 'a@x', request_key: 'mine' } }))
    expect(preset.issues[0].path).toEqual(['values', 'request_key'])
  })
}
