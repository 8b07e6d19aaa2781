import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError, StoreError } from '@do-sdk/core'
import { type SqliteStoreOptions, sqliteStore } from '@do-sdk/store-sqlite'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { countQuery, listQuery } from '../src/sql.js'
import type { SqliteStoreInternals } from '../src/sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = () => join(dir, `t${++n}.db`)

describe('sqliteStore options', () => {
  it('a missing path is an InvalidArgumentError with a clear message', () => {
    expect(() => sqliteStore({} as SqliteStoreOptions)).toThrow(InvalidArgumentError)
    expect(() => sqliteStore({} as SqliteStoreOptions)).toThrow('[do-sdk] [sqlite] Missing required option "path".')
    expect(() => sqliteStore(undefined as unknown as SqliteStoreOptions)).toThrow('[do-sdk] [sqlite] Missing required option "path".')
  })

  it('refuses an unknown driver, synchronous mode or busy timeout', () => {
    expect(() => sqliteStore({ path: file(), driver: 'sqlite4' as 'sqlite3' })).toThrow('Unknown driver "sqlite4"')
    expect(() => sqliteStore({ path: file(), synchronous: 'OFF' as 'FULL' })).toThrow('"synchronous" must be "NORMAL" or "FULL"')
    expect(() => sqliteStore({ path: file(), busyTimeoutMs: -1 })).toThrow(InvalidArgumentError)
  })

  it('declares multi-process, atomic batches, no pub/sub (and not the deprecated nativeTtl)', () => {
    expect(sqliteStore({ path: file() }).capabilities).toEqual({ multiProcess: true, atomicBatch: true, pubsub: false })
  })

  it('refuses a namespace that is not a well-formed string, and a bad sweep interval', () => {
    expect(() => sqliteStore({ path: file(), namespace: 3 as unknown as string })).toThrow(
      '[do-sdk] [sqlite] Invalid namespace (number): it must be a string.',
    )
    // Stored as UTF-8, '\uD800' and '\uDBFF' would both become U+FFFD: one namespace for two names.
    expect(() => sqliteStore({ path: file(), namespace: 'a\uD800' })).toThrow(InvalidArgumentError)
    expect(() => sqliteStore({ path: file(), sweepIntervalMs: Number.NaN })).toThrow('"sweepIntervalMs" must be a number of ms >= 0')
  })
})

describe('sqliteStore on disk', () => {
  it('opens the file in WAL mode with one table clustered on (ns, key) (WITHOUT ROWID)', async () => {
    const path = file()
    const store = sqliteStore({ path, synchronous: 'FULL' })
    await store.batch([{ op: 'set', key: 'k', value: 'v' }])
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'do_entries'").pluck().get()).toMatch(/\) WITHOUT ROWID$/)
    expect(db.prepare('SELECT ns, key, value, version, expires_at FROM do_entries').all()).toEqual([
      { ns: '', key: 'k', value: 'v', version: 1, expires_at: null },
    ])
    const plan = (sql: string, params: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('; ')
    for (const options of [{}, { reverse: true, limit: 5 }, { after: 'b/1', before: 'b/9' }]) {
      const { sql, params } = listQuery('', 'b/', options, Date.now())
      expect(plan(sql, params)).toBe('SEARCH do_entries USING PRIMARY KEY (ns=? AND key>? AND key<?)')
    }
    // count walks the key range of the primary key, expired rows through the expiry index (which covers them).
    const { sql, params } = countQuery('', 'b/', { after: 'b/1' }, Date.now())
    expect(plan(sql, params)).toBe(
      'SCAN CONSTANT ROW; SCALAR SUBQUERY 1; SEARCH do_entries USING PRIMARY KEY (ns=? AND key>? AND key<?); ' +
        'SCALAR SUBQUERY 2; SEARCH do_entries USING COVERING INDEX do_entries_expiry (expires_at<?)',
    )
    db.close()
    await store.close?.()
  })

  it('survives a restart, and both drivers read and write the same file', async () => {
    const path = file()
    const first = sqliteStore({ path, driver: 'better-sqlite3', namespace: 'app' })
    await first.batch([
      { op: 'set', key: 'a', value: '1' },
      { op: 'set', key: 'b', value: '2', expiresAt: Date.now() + 60_000 },
    ])
    await first.close?.()
    const second = sqliteStore({ path, driver: 'sqlite3', namespace: 'app' })
    expect((await second.list('')).map((e) => [e.key, e.value, e.version])).toEqual([
      ['a', '1', 1],
      ['b', '2', 1],
    ])
    expect(await second.batch([{ op: 'set', key: 'a', value: '3', ifVersion: 1 }])).toEqual({ ok: true, versions: [2] })
    await second.close?.()
    const third = sqliteStore({ path, namespace: 'app' })
    expect((await third.get('a'))?.value).toBe('3')
    await third.close?.()
  })

  it('any namespace string is its own space (it is a column, not a prefix)', async () => {
    const path = file()
    const a = sqliteStore({ path, namespace: 'wf:run' })
    const b = sqliteStore({ path, namespace: 'wf' })
    await a.batch([{ op: 'set', key: '1', value: 'a' }])
    await b.batch([{ op: 'set', key: 'run:1', value: 'b' }])
    expect((await a.list('')).map((e) => e.key)).toEqual(['1'])
    expect((await b.list('')).map((e) => e.key)).toEqual(['run:1'])
    await Promise.all([a.close?.(), b.close?.()])
  })

  for (const driver of ['better-sqlite3', 'sqlite3'] as const) {
    it(`${driver}: a file that cannot be opened rejects every call with a StoreError naming it`, async () => {
      const missingDir = sqliteStore({ path: join(dir, 'no-such-dir', 'x.db'), driver })
      const error = await missingDir.get('k').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect((error as Error).message).toMatch(/^\[do-sdk\] \[sqlite\] opening the database \(.*no-such-dir.x\.db\) failed: /)
      await expect(missingDir.list('')).rejects.toBeInstanceOf(StoreError)

      const garbage = file()
      writeFileSync(garbage, 'this is not a database, just some text that is long enough to have a header'.repeat(20))
      const corrupt = sqliteStore({ path: garbage, driver })
      await expect(corrupt.batch([{ op: 'set', key: 'k', value: 'v' }])).rejects.toThrow(/not a database/)
      await corrupt.close?.()
    })
  }

  it('count: live entries of a prefix within after/before, as list sees them, in every namespace apart', async () => {
    const path = file()
    const store = sqliteStore({ path, namespace: 'a' })
    const other = sqliteStore({ path, namespace: 'b' })
    const now = Date.now()
    await store.batch([
      ...['run/1', 'run/2', 'run/3', 'run/4', 'run%', 'run_x', 'runs', 'due/1'].map((key) => ({ op: 'set' as const, key, value: 'v' })),
      { op: 'set', key: 'run/5', value: 'v', expiresAt: now - 1 }, // expired: counted by neither
      { op: 'set', key: 'run/6', value: 'v', expiresAt: now + 60_000 },
    ])
    await other.batch([{ op: 'set', key: 'run/1', value: 'v' }])
    const both = async (prefix: string, options: { after?: string; before?: string } = {}) => {
      const listed = (await store.list(prefix, options)).length
      const counted = await store.count?.(prefix, options)
      expect(counted).toBe(listed)
      return counted
    }
    expect(await both('run/')).toBe(5)
    expect(await both('run/', { after: 'run/2' })).toBe(3)
    expect(await both('run/', { before: 'run/4' })).toBe(3)
    expect(await both('run/', { after: 'run/1', before: 'run/6' })).toBe(3)
    expect(await both('run%')).toBe(1) // % and _ are characters, not patterns
    expect(await both('run_')).toBe(1)
    expect(await both('')).toBe(9)
    expect(await both('none/')).toBe(0)
    expect(await other.count?.('')).toBe(1)
    await Promise.all([store.close?.(), other.close?.()])
  })

  it('the sweeper deletes expired rows of every namespace, in small statements, and keeps the live ones', async () => {
    const path = file()
    const store = sqliteStore({ path, namespace: 'x', sweepIntervalMs: 0 })
    const sweep = () => (store as unknown as SqliteStoreInternals).sweepExpired()
    expect(Object.keys(store)).not.toContain('sweepExpired')
    expect(await sweep()).toBe(0) // not opened yet: nothing to do, nothing opened
    const now = Date.now()
    const expired = Array.from({ length: 1_234 }, (_, i) => ({ op: 'set' as const, key: `old/${i}`, value: 'v', expiresAt: now - 1 }))
    await store.batch([
      ...expired,
      { op: 'set', key: 'later', value: 'v', expiresAt: now + 3_600_000 },
      { op: 'set', key: 'forever', value: 'v' },
    ])
    const other = sqliteStore({ path, namespace: 'y', sweepIntervalMs: 0 })
    await other.batch([{ op: 'set', key: 'gone', value: 'v', expiresAt: now - 1 }])
    const rows = () => {
      const db = new Database(path, { readonly: true })
      try {
        return (db.prepare('SELECT ns, key FROM do_entries ORDER BY ns, key').all() as { ns: string; key: string }[]).map(
          (r) => `${r.ns}:${r.key}`,
        )
      } finally {
        db.close()
      }
    }
    expect(rows()).toHaveLength(1_237)
    expect(await sweep()).toBe(1_235)
    expect(rows()).toEqual(['x:forever', 'x:later'])
    expect(await sweep()).toBe(0)
    expect(await store.get('later')).toMatchObject({ value: 'v', version: 1 })
    await Promise.all([store.close?.(), other.close?.()])
    expect(await sweep()).toBe(0) // closed: nothing to sweep with
  })

  it('the periodic sweeper runs on its own and stops with close()', async () => {
    const path = file()
    const store = sqliteStore({ path, sweepIntervalMs: 1 })
    await store.batch([
      { op: 'set', key: 'old', value: 'v', expiresAt: Date.now() - 1 },
      { op: 'set', key: 'kept', value: 'v' },
    ])
    const db = new Database(path, { readonly: true })
    const count = db.prepare('SELECT count(*) FROM do_entries').pluck()
    while ((count.get() as number) > 1) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(db.prepare('SELECT key FROM do_entries').pluck().all()).toEqual(['kept'])
    db.close()
    await store.close?.()
  })

  it('adds the expiry index to a file created before it, and an old file keeps working', async () => {
    const path = file()
    const old = new Database(path)
    old.exec(`CREATE TABLE do_entries (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
      expires_at INTEGER, PRIMARY KEY (ns, key))`)
    old.prepare("INSERT INTO do_entries VALUES ('', 'a', '1', 3, NULL), ('', 'b', '2', 1, 1)").run()
    const indexes = () => old.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").pluck().all()
    expect(indexes()).toEqual(['sqlite_autoindex_do_entries_1'])
    const store = sqliteStore({ path, sweepIntervalMs: 0 })
    expect(await store.get('a')).toEqual({ value: '1', version: 3 })
    expect(indexes()).toEqual(['do_entries_expiry', 'sqlite_autoindex_do_entries_1'])
    expect(await (store as unknown as SqliteStoreInternals).sweepExpired()).toBe(1)
    expect(await store.count?.('')).toBe(1)
    await store.close?.()
    // Opening again finds the index there and changes nothing.
    const again = sqliteStore({ path })
    expect(await again.list('')).toEqual([{ key: 'a', value: '1', version: 3 }])
    // The old table (with rowids) takes every kind of write, as files made by this version do.
    const written = await again.batch([
      { op: 'set', key: 'a', value: '2', ifVersion: 3 },
      { op: 'set', key: 'c', value: '3', expiresAt: Date.now() + 60_000 },
      { op: 'delete', key: 'b' },
    ])
    expect(written).toEqual({ ok: true, versions: [4, 1, 0] })
    expect((await again.list('')).map((e) => [e.key, e.value, e.version])).toEqual([
      ['a', '2', 4],
      ['c', '3', 1],
    ])
    await again.close?.()
    old.close()
  })

  it('rejects calls after close', async () => {
    const store = sqliteStore({ path: file() })
    await store.get('k')
    await store.close?.()
    await expect(store.get('k')).rejects.toThrow('[do-sdk] [sqlite] The store is closed')
  })
})
