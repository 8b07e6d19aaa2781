import type { BatchResult, WriteOp } from '@do-sdk/core'
import { promiseLock } from '@do-sdk/core'
import { keysToRead, planBatch } from './batch-plan.js'
import type { ConnectionOptions, SqlDriver } from './drivers.js'
import { pragmas, retryBusy } from './drivers.js'
import type { Sqlite3Importer } from './loaders.js'
import { loadKeyvSqlite } from './loaders.js'
import type { Row } from './sql.js'
import { BUMP, chunks, DELETE_ONE, PUT, SELECT_VERSION, SWEEP, selectIn } from './sql.js'

/**
 * sqlite3 through `@keyv/sqlite`'s own connection (its `query`), loaded only when this driver is
 * chosen (`importer` replaces the import in tests). Calls are asynchronous, so a lock keeps
 * anything else off the connection while a transaction is open. Like the better-sqlite3 driver it
 * never lets SQLite wait for a lock (`busy_timeout = 0`): a BUSY transaction is rolled back and
 * tried again after a jittered pause.
 */
export const openSqlite3 = async (o: ConnectionOptions, importer?: Sqlite3Importer): Promise<SqlDriver> => {
  const { KeyvSqlite } = await loadKeyvSqlite(importer)
  // No busyTimeout: the `busy_timeout = 0` pragma and retryBusy handle locks, as with better-sqlite3.
  const adapter = new KeyvSqlite({ uri: `sqlite://${o.path}` })
  adapter.on('error', () => {}) // Errors reach us as rejected queries; an unheard 'error' event would throw.
  const q = (sql: string, params: unknown[] = []) => adapter.query(sql, params) as Promise<Row[]>
  const exclusive = promiseLock()
  try {
    for (const sql of pragmas(o)) await retryBusy(() => q(sql), o.busyTimeoutMs)
  } catch (error) {
    await adapter.close().catch(() => {})
    throw error
  }

  /** The live versions of `keys` (one query per key when few, else `IN (…)` chunks). */
  const versionsOf = async (ns: string, keys: string[], now: number) => {
    const current = new Map<string, number>()
    if (keys.length <= 2) {
      for (const key of keys) current.set(key, ((await q(SELECT_VERSION, [ns, key, now]))[0]?.version as number | undefined) ?? 0)
      return current
    }
    for (const key of keys) current.set(key, 0)
    for (const part of chunks(keys)) {
      for (const row of await q(selectIn(part.length), [ns, ...part])) {
        if (row.expires_at === null || row.expires_at > now) current.set(row.key, row.version)
      }
    }
    return current
  }

  /** One batch, inside the open transaction. */
  const apply = async (ns: string, ops: WriteOp[]): Promise<BatchResult> => {
    const now = Date.now()
    const plan = planBatch(ops, await versionsOf(ns, keysToRead(ops), now))
    if (!plan.ok) return plan.result
    const { writes, versions } = plan
    for (const w of writes) {
      if (w.kind === 'bump') versions[w.op] = ((await q(BUMP, [ns, w.key, w.value, w.expiresAt, now]))[0] as Row).version
      else if (w.kind === 'put') await q(PUT, [ns, w.key, w.value, w.version, w.expiresAt])
      else await q(DELETE_ONE, [ns, w.key])
    }
    return { ok: true, versions }
  }

  /** One batch in one transaction, holding the connection from BEGIN to COMMIT or ROLLBACK. */
  const transaction = (ns: string, ops: WriteOp[]) =>
    exclusive(async () => {
      await q('BEGIN IMMEDIATE')
      try {
        const result = await apply(ns, ops)
        await q('COMMIT')
        return result
      } catch (error) {
        await q('ROLLBACK').catch(() => {})
        throw error
      }
    })
  // Batches run one after the other, in call order; while one waits for another process's lock
  // (between its attempts, outside `exclusive`), reads still get the connection.
  const writes = promiseLock()

  return {
    name: 'sqlite3',
    query: (sql, params) => retryBusy(() => exclusive(() => q(sql, params)), o.busyTimeoutMs),
    batch: (ns, ops) => writes(() => retryBusy(() => transaction(ns, ops), o.busyTimeoutMs)),
    sweep: (now, limit) => exclusive(async () => (await q(`${SWEEP} RETURNING 1`, [now, limit])).length),
    close: () => exclusive(() => adapter.close()),
  }
}
