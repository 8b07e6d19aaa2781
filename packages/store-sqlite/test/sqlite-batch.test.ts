// Batches as the SQLite store applies them: versions computed in SQL for keys it does not read, and
// group commit (batches of one event-loop turn in one transaction) keeping every batch all-or-nothing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StoreError } from '@do-sdk/core'
import { type SqliteDriverName, sqliteStore } from '@do-sdk/store-sqlite'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { keysToRead, planBatch } from '../src/batch-plan.js'

const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-batch-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = () => join(dir, `b${++n}.db`)

describe('planning a batch', () => {
  it('reads only keys with a condition or more than one op', () => {
    expect(keysToRead([{ op: 'set', key: 'a', value: '1' }])).toEqual([])
    expect(keysToRead([{ op: 'check', key: 'a', ifVersion: 2 }])).toEqual(['a'])
    const ops = [
      { op: 'set', key: 'j', value: '1' },
      { op: 'set', key: 'run', value: '1', ifVersion: 3 },
      { op: 'delete', key: 'due' },
      { op: 'set', key: 'x', value: '1' },
      { op: 'set', key: 'x', value: '2' },
    ] as const
    expect(keysToRead([...ops])).toEqual(['run', 'x'])
    const many = Array.from({ length: 40 }, (_, i) => ({
      op: 'set' as const,
      key: `k${i % 30}`,
      value: '1',
      ...(i === 3 ? { ifVersion: 0 } : {}),
    }))
    expect(keysToRead(many)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9'])
  })

  it('a failed condition plans no write; otherwise one write per key, its last state', () => {
    const current = () => new Map([['run', 3]])
    expect(
      planBatch(
        [
          { op: 'set', key: 'j', value: '1' },
          { op: 'set', key: 'run', value: 'r', ifVersion: 2 },
        ],
        current(),
      ),
    ).toEqual({
      ok: false,
      result: { ok: false, conflictKey: 'run', actualVersion: 3 },
    })
    expect(
      planBatch(
        [
          { op: 'set', key: 'j', value: '1', expiresAt: 5 },
          { op: 'set', key: 'run', value: 'r', ifVersion: 3 },
          { op: 'delete', key: 'run' },
          { op: 'set', key: 'run', value: 's' },
          { op: 'delete', key: 'due' },
        ],
        current(),
      ),
    ).toEqual({
      ok: true,
      versions: [0, 4, 0, 1, 0],
      writes: [
        { kind: 'bump', key: 'j', value: '1', expiresAt: 5, op: 0 },
        { kind: 'put', key: 'run', value: 's', expiresAt: null, version: 1 },
        { kind: 'delete', key: 'due' },
      ],
    })
  })
})

for (const driver of ['better-sqlite3', 'sqlite3'] as SqliteDriverName[]) {
  describe(`sqliteStore batches (${driver})`, () => {
    it('an unconditional set counts from the live version: +1, or 1 when absent or expired', async () => {
      const path = file()
      const store = sqliteStore({ path, driver, sweepIntervalMs: 0 })
      const now = Date.now()
      expect(await store.batch([{ op: 'set', key: 'k', value: 'a', expiresAt: now + 3_600_000 }])).toEqual({ ok: true, versions: [1] })
      expect(await store.batch([{ op: 'set', key: 'k', value: 'b', expiresAt: now + 3_600_000 }])).toEqual({ ok: true, versions: [2] })
      // Time passes (no waiting on the clock, which a loaded machine makes unreliable): the row expires, unswept.
      const raw = new Database(path)
      raw.prepare("UPDATE do_entries SET expires_at = ? WHERE key = 'k'").run(now - 1)
      raw.close()
      expect(await store.batch([{ op: 'set', key: 'k', value: 'c' }])).toEqual({ ok: true, versions: [1] })
      expect(await store.batch([{ op: 'set', key: 'past', value: 'p', expiresAt: now - 1 }])).toEqual({ ok: true, versions: [1] })
      expect(await store.batch([{ op: 'set', key: 'past', value: 'q' }])).toEqual({ ok: true, versions: [1] })
      expect(await store.get('k')).toEqual({ value: 'c', version: 1 })
      expect(
        await store.batch([
          { op: 'set', key: 'k', value: 'd' },
          { op: 'set', key: 'new', value: 'n' },
          { op: 'set', key: 'past', value: 'r', ifVersion: 1 },
        ]),
      ).toEqual({ ok: true, versions: [2, 1, 2] })
      await store.close?.()
    })

    it('batches of one turn commit together, and a conflicting one writes nothing', async () => {
      const store = sqliteStore({ path: file(), driver })
      await store.batch([{ op: 'set', key: 'run', value: 'r' }])
      const results = await Promise.all([
        store.batch([{ op: 'set', key: 'a', value: '1' }]),
        store.batch([
          { op: 'set', key: 'b', value: '1' },
          { op: 'set', key: 'run', value: 'x', ifVersion: 7 },
        ]),
        store.batch([
          { op: 'set', key: 'c', value: '1' },
          { op: 'set', key: 'run', value: 'y', ifVersion: 1 },
        ]),
      ])
      expect(results).toEqual([
        { ok: true, versions: [1] },
        { ok: false, conflictKey: 'run', actualVersion: 1 },
        { ok: true, versions: [1, 2] },
      ])
      expect((await store.list('')).map((e) => [e.key, e.value, e.version])).toEqual([
        ['a', '1', 1],
        ['c', '1', 1],
        ['run', 'y', 2],
      ])
      await store.close?.()
    })
  })
}

describe('sqliteStore group commit (better-sqlite3)', () => {
  it('a batch failing midway with an SQL error rolls back alone; the others of its turn commit', async () => {
    const store = sqliteStore({ path: file() })
    await store.get('warm-up')
    const bad = { op: 'set', key: 'bad/2', value: {} as unknown as string } as const
    const [first, failing, last] = await Promise.allSettled([
      store.batch([{ op: 'set', key: 'ok/1', value: '1' }]),
      store.batch([{ op: 'set', key: 'bad/1', value: 'written first' }, bad]),
      store.batch([{ op: 'set', key: 'ok/2', value: '2', ifVersion: 0 }]),
    ])
    expect(first).toEqual({ status: 'fulfilled', value: { ok: true, versions: [1] } })
    expect(last).toEqual({ status: 'fulfilled', value: { ok: true, versions: [1] } })
    expect(failing.status).toBe('rejected')
    expect((failing as PromiseRejectedResult).reason).toBeInstanceOf(StoreError)
    expect((await store.list('')).map((e) => e.key)).toEqual(['ok/1', 'ok/2'])
    // Alone in its turn, the failing batch still writes nothing.
    await expect(store.batch([{ op: 'set', key: 'bad/1', value: 'x' }, bad])).rejects.toBeInstanceOf(StoreError)
    expect(await store.get('bad/1')).toBeUndefined()
    await store.close?.()
  })
})
