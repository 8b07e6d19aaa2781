import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError, StoreError } from '@do-sdk/core'
import { type SqliteStoreOptions, sqliteStore } from '@do-sdk/store-sqlite'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { listQuery } from '../src/sql.js'

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

  it('declares multi-process, atomic batches, no native TTL, no pub/sub', () => {
    expect(sqliteStore({ path: file() }).capabilities).toEqual({ multiProcess: true, atomicBatch: true, nativeTtl: false, pubsub: false })
  })
})

describe('sqliteStore on disk', () => {
  it('opens the file in WAL mode with one table keyed by (ns, key)', async () => {
    const path = file()
    const store = sqliteStore({ path, synchronous: 'FULL' })
    await store.batch([{ op: 'set', key: 'k', value: 'v' }])
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare('SELECT ns, key, value, version, expires_at FROM do_entries').all()).toEqual([
      { ns: '', key: 'k', value: 'v', version: 1, expires_at: null },
    ])
    for (const options of [{}, { reverse: true, limit: 5 }, { after: 'b/1', before: 'b/9' }]) {
      const { sql, params } = listQuery('', 'b/', options, Date.now())
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]
      expect(plan.map((p) => p.detail).join('; ')).toMatch(
        /^SEARCH do_entries USING INDEX sqlite_autoindex_do_entries_1 \(ns=\? AND key>\? AND key<\?\)$/,
      )
    }
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
      expect((error as Error).message).toContain('[do-sdk] [sqlite] opening the database failed')
      expect((error as Error).message).toContain('no-such-dir')
      await expect(missingDir.list('')).rejects.toBeInstanceOf(StoreError)

      const garbage = file()
      writeFileSync(garbage, 'this is not a database, just some text that is long enough to have a header'.repeat(20))
      const corrupt = sqliteStore({ path: garbage, driver })
      await expect(corrupt.batch([{ op: 'set', key: 'k', value: 'v' }])).rejects.toThrow(/not a database/)
      await corrupt.close?.()
    })
  }

  it('rejects calls after close', async () => {
    const store = sqliteStore({ path: file() })
    await store.get('k')
    await store.close?.()
    await expect(store.get('k')).rejects.toThrow('[do-sdk] [sqlite] The store is closed')
  })
})
