import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NonRetryableError } from '@do-sdk/core'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { expect, it } from 'vitest'
import { databaseActions } from '../src/index.js'
import { type Harness, rejection } from './suite/context.js'
import { defineDatabaseSuite } from './suite/index.js'

const start = async (): Promise<Harness> => {
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-sqlite-'))
  const path = join(dir, 'test.db')
  const direct = new Database(path)
  const kysely = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(path) }) })
  return {
    dialect: 'sqlite',
    options: { dialect: 'sqlite', path },
    altOptions: { dialect: 'sqlite', db: kysely },
    exec: async (sql) => {
      const statement = direct.prepare(sql)
      if (statement.reader) return statement.all() as Record<string, unknown>[]
      statement.run()
      return []
    },
    // Another connection holds an exclusive lock: every attempt gets SQLITE_BUSY at once.
    transient: async () => {
      const locker = new Database(path)
      locker.exec('BEGIN EXCLUSIVE')
      return {
        options: { dialect: 'sqlite', path, busyTimeoutMs: 0 },
        release: async () => {
          locker.exec('ROLLBACK')
          locker.close()
        },
      }
    },
    stop: async () => {
      direct.close()
      await kysely.destroy()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

defineDatabaseSuite({ dialect: 'sqlite', start }, (t) => {
  // docs/packs/database.md: "`close()` leaves it open: whoever created it destroys it"
  it('leaves a Kysely instance it was given open on close()', async () => {
    const options = t.harness.altOptions as { db: Kysely<any> }
    const pack = databaseActions({ dialect: 'sqlite', db: options.db })
    await pack.close()
    expect(await options.db.selectFrom('users').selectAll().execute()).toEqual([])
  })

  // docs/packs/database.md: "A **value** is a string, a finite number, a boolean, `null` or a `Date`."
  it('binds booleans and Dates as SQLite stores them (1/0, ISO text)', async () => {
    const at = new Date('2025-01-02T03:04:05.678Z')
    await t.db.insert.execute({ table: 'events', rows: [{ label: at }, { label: true }] })
    expect(await t.harness.exec('SELECT label FROM events ORDER BY id')).toEqual([{ label: at.toISOString() }, { label: '1' }])
  })

  // docs/packs/database.md: "`busyTimeoutMs` (5000: how long a statement waits for a lock before a retryable `SQLITE_BUSY`"
  it('waits for a lock without freezing the event loop: SQLite never sleeps in the thread, the pack waits asynchronously', async () => {
    // SQLite's own busy handler would block the whole process while it waits; the pack turns it off.
    expect((await t.db.query.execute({ sql: 'PRAGMA busy_timeout' })).rows).toEqual([{ timeout: 0 }])
    const path = (t.harness.options as { path: string }).path
    const locker = new Database(path)
    locker.exec('BEGIN EXCLUSIVE')
    let busy = 0
    // The lock is released when the first attempt has met it (Kysely logs the SQLITE_BUSY), so the
    // insert succeeds only if the statement waits and tries again within its one attempt.
    const kysely = new Kysely<any>({
      dialect: new SqliteDialect({ database: new Database(path, { timeout: 0 }) }),
      log: (event) => {
        if (event.level !== 'error' || busy++ > 0) return
        locker.exec('ROLLBACK')
        locker.close()
      },
    })
    const pack = databaseActions({ dialect: 'sqlite', db: kysely })
    try {
      await expect(pack.insert.execute({ table: 'events', values: { label: 'after the lock' } }, { retry: false })).resolves.toMatchObject({
        affected: 1,
      })
      expect(busy).toBe(1)
      expect(await t.harness.exec('SELECT label FROM events')).toEqual([{ label: 'after the lock' }])
    } finally {
      await kysely.destroy()
    }
  })

  // docs/packs/database.md: "Cancellation: `ctx.signal` is checked before each statement"
  it('checks the signal before each statement: an idempotent insert aborted after its first statement runs no second one', async () => {
    const path = (t.harness.options as { path: string }).path
    const controller = new AbortController()
    const statements: string[] = []
    const kysely = new Kysely<any>({
      dialect: new SqliteDialect({ database: new Database(path) }),
      log: (event) => {
        statements.push(event.query.sql)
        controller.abort(new Error('cancelled after the first statement'))
      },
    })
    const pack = databaseActions({ dialect: 'sqlite', db: kysely })
    const input = { table: 'users', values: { email: 'k@x' }, idempotencyKey: 'request_key' }
    try {
      // The row exists: the INSERT … ON CONFLICT DO NOTHING returns nothing, and a SELECT would follow.
      await t.harness.exec("INSERT INTO users (email, request_key) VALUES ('k@x', 'run:step')")
      const err = await rejection(pack.insert.execute(input, { idempotencyKey: 'run:step', signal: controller.signal, retry: false }))
      expect(err.message).toMatch(/cancelled after the first statement/)
      expect(statements).toHaveLength(1)
      expect(statements[0]).toMatch(/^insert into/)
      // Already aborted: no statement at all.
      await expect(pack.select.execute({ table: 'users' }, { signal: controller.signal })).rejects.toThrow()
      expect(statements).toHaveLength(1)
    } finally {
      await kysely.destroy()
    }
  })

  // docs/packs/database.md: "`readonly` (false)"
  it('readonly: reads work, a write fails at once and writes nothing', async () => {
    const path = (t.harness.options as { path: string }).path
    await t.db.insert.execute({ table: 'users', values: { email: 'ro@x' } })
    const ro = databaseActions({ dialect: 'sqlite', path, readonly: true, retry: { retries: 3, minTimeout: 0 } })
    try {
      expect((await ro.select.execute({ table: 'users', columns: ['email'] })).rows).toEqual([{ email: 'ro@x' }])
      const err = await rejection(ro.insert.execute({ table: 'users', values: { email: 'no@x' } }))
      expect(err).toBeInstanceOf(NonRetryableError)
      expect(err.message).toMatch(/SQLITE_READONLY/)
      expect(await t.harness.exec('SELECT email FROM users')).toEqual([{ email: 'ro@x' }])
    } finally {
      await ro.close()
    }
  })

  // docs/packs/database.md: "`path` (file, created when missing, or `:memory:`)"
  it('creates a missing database file on the first query, and not before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'do-sdk-sqlite-new-'))
    const path = join(dir, 'new.db')
    const fresh = databaseActions({ dialect: 'sqlite', path })
    try {
      expect(existsSync(path)).toBe(false)
      await fresh.query.execute({ sql: 'CREATE TABLE t (id INTEGER)' })
      expect(existsSync(path)).toBe(true)
    } finally {
      await fresh.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
