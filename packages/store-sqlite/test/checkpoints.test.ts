// WAL checkpoints on a worker thread (better-sqlite3): the worker copies the WAL back into the file
// while the main connection's own threshold is raised to a safety net, a worker that cannot start
// leaves SQLite's own checkpoints in charge, and closing removes the WAL (no connection left behind).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Datastore, InvalidArgumentError } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { DEFAULT_AUTOCHECKPOINT_PAGES, SAFETY_NET_PAGES, startCheckpointer } from '../src/checkpointer.js'
import { CHECKPOINTER_AFTER_COMMITS, openBetterSqlite3 } from '../src/driver-better-sqlite3.js'
import type { ConnectionOptions, SqlDriver } from '../src/drivers.js'

const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-checkpoints-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = () => join(dir, `c${++n}.db`)
const options = (path: string, checkpoints: ConnectionOptions['checkpoints'] = 'background'): ConnectionOptions => ({
  path,
  synchronous: 'NORMAL',
  busyTimeoutMs: 5_000,
  checkpoints,
})

/** Salt-1 of the WAL header: SQLite changes it each time a writer starts the WAL over after a complete checkpoint. */
const walSalt = (path: string) => readFileSync(`${path}-wal`).readUInt32BE(16)
const autocheckpoint = async (driver: SqlDriver) =>
  Number(((await driver.query('PRAGMA wal_autocheckpoint', []))[0] as unknown as { wal_autocheckpoint: number }).wal_autocheckpoint)

const commits = async (driver: SqlDriver, count: number, from = 0) => {
  for (let i = from; i < from + count; i++) {
    const result = await driver.batch('', [{ op: 'set', key: `k${i}`, value: 'x'.repeat(200) }])
    expect(result.ok).toBe(true)
  }
}

describe('the checkpoint worker', () => {
  it('copies every frame of the WAL into the database file, beside a connection that never checkpoints', async () => {
    const path = file()
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('wal_autocheckpoint = 0') // only the worker checkpoints
    db.exec('CREATE TABLE t (v TEXT)')
    const insert = db.prepare('INSERT INTO t VALUES (?)')
    for (let i = 0; i < 300; i++) insert.run('x'.repeat(500))
    let ready = false
    const done = new Promise<[number, number]>((resolve) => {
      const checkpointer = startCheckpointer({
        path,
        synchronous: 'NORMAL',
        intervalMs: 10,
        onReady: () => {
          ready = true
        },
        onFailed: (error) => resolve([-1, String(error).length]),
        onCheckpoint: (log, checkpointed) => {
          if (log > 0 && checkpointed === log) void checkpointer.stop().then(() => resolve([log, checkpointed]))
        },
      })
    })
    const [log, checkpointed] = await done
    expect(ready).toBe(true)
    expect(log).toBeGreaterThanOrEqual(300)
    expect(checkpointed).toBe(log)
    // The frames are in the file itself: a copy of it without the WAL holds every row.
    db.close()
    const copy = new Database(path, { readonly: true })
    expect(copy.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 300 })
    copy.close()
  })

  it('that cannot load better-sqlite3 reports it and never says it is ready', async () => {
    const path = file()
    new Database(path).pragma('journal_mode = WAL')
    const onReady = vi.fn()
    const error = await new Promise<unknown>((resolve) => {
      startCheckpointer({ path, synchronous: 'NORMAL', intervalMs: 10, onReady, onFailed: resolve, modulePath: join(dir, 'nowhere.js') })
    })
    expect(String(error)).toContain('nowhere.js')
    expect(onReady).not.toHaveBeenCalled()
  })
})

describe('background checkpoints in the better-sqlite3 driver', () => {
  it(`start after ${CHECKPOINTER_AFTER_COMMITS} commits, raise SQLite's own threshold to ${SAFETY_NET_PAGES} pages, and start the WAL over`, async () => {
    const path = file()
    const driver = await openBetterSqlite3(options(path))
    try {
      await commits(driver, CHECKPOINTER_AFTER_COMMITS - 1)
      expect(await autocheckpoint(driver)).toBe(DEFAULT_AUTOCHECKPOINT_PAGES) // no worker yet
      await commits(driver, 1, CHECKPOINTER_AFTER_COMMITS)
      await vi.waitFor(async () => expect(await autocheckpoint(driver)).toBe(SAFETY_NET_PAGES), { timeout: 60_000, interval: 20 })
      // Only a checkpoint of the whole WAL lets a writer start it over; SQLite's own would need
      // SAFETY_NET_PAGES frames, and this writes at most one frame or two per commit, far fewer.
      const salt = walSalt(path)
      let written = 0
      for (let i = 0; walSalt(path) === salt; i++) {
        expect(written).toBeLessThan(SAFETY_NET_PAGES / 4)
        await commits(driver, 1, 10_000 + i)
        written++
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    } finally {
      await driver.close()
    }
    // The worker's connection closed first, so the main one was the last: it removed the WAL.
    expect(existsSync(`${path}-wal`)).toBe(false)
  })

  it('keep working on SQLite’s own checkpoints when the worker cannot start', async () => {
    const path = file()
    const driver = await openBetterSqlite3(options(path), undefined, join(dir, 'nowhere.js'))
    try {
      await commits(driver, CHECKPOINTER_AFTER_COMMITS + 50)
      // SQLite's default threshold checkpoints inline: the WAL starts over within about 1,000 frames.
      const salt = walSalt(path)
      let i = 0
      while (walSalt(path) === salt) {
        expect(i).toBeLessThan(DEFAULT_AUTOCHECKPOINT_PAGES * 2)
        await commits(driver, 1, 10_000 + i++)
      }
      expect(await autocheckpoint(driver)).toBe(DEFAULT_AUTOCHECKPOINT_PAGES)
    } finally {
      await driver.close()
    }
  })
})

describe('the checkpoints option', () => {
  type WithState = Datastore & { checkpointState(): string | undefined }
  const batches = async (store: Datastore, count: number) => {
    for (let i = 0; i < count; i++) expect((await store.batch([{ op: 'set', key: `k${i}`, value: 'v' }])).ok).toBe(true)
  }

  it('"background" (the default) hands checkpoints to the worker once the store has committed 200 times', async () => {
    const store = sqliteStore({ path: file() }) as WithState
    expect(store.checkpointState()).toBeUndefined() // not opened yet
    await batches(store, CHECKPOINTER_AFTER_COMMITS - 1)
    expect(store.checkpointState()).toBe('inline')
    await batches(store, 1)
    expect(store.checkpointState()).not.toBe('inline')
    await vi.waitFor(() => expect(store.checkpointState()).toBe('background'), { timeout: 60_000, interval: 20 })
    await store.close?.()
  })

  it('the sqlite3 driver, whose statements run off the event loop already, has no worker of its own', async () => {
    const store = sqliteStore({ path: file(), driver: 'sqlite3' }) as WithState
    await batches(store, CHECKPOINTER_AFTER_COMMITS + 20)
    expect(store.checkpointState()).toBeUndefined()
    await store.close?.()
  })

  it('"inline", and any in-memory database, never start the worker', async () => {
    for (const store of [sqliteStore({ path: file(), checkpoints: 'inline' }), sqliteStore({ path: ':memory:' })] as WithState[]) {
      await batches(store, CHECKPOINTER_AFTER_COMMITS + 20)
      expect(store.checkpointState()).toBe('inline')
      await store.close?.()
    }
  })

  it('refuses anything but "background" and "inline", naming the option', () => {
    expect(() => sqliteStore({ path: file(), checkpoints: 'sometimes' as never })).toThrow(InvalidArgumentError)
    expect(() => sqliteStore({ path: file(), checkpoints: 'sometimes' as never })).toThrow(
      /"checkpoints" must be "background" or "inline", got "sometimes"/,
    )
  })
})
