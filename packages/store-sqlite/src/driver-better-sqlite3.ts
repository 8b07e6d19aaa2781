import type { BatchResult, WriteOp } from '@do-sdk/core'
import type { Statement } from 'better-sqlite3'
import { keysToRead, planBatch } from './batch-plan.js'
import type { ConnectionOptions, SqlDriver } from './drivers.js'
import { isBusy, pragmas, retryBusy } from './drivers.js'
import type { Row } from './sql.js'
import { BUMP, DELETE_ONE, PUT, SELECT_VERSION } from './sql.js'

/** A batch waiting for the next group commit. */
interface Pending {
  ns: string
  ops: WriteOp[]
  resolve: (result: BatchResult) => void
  reject: (error: unknown) => void
  result?: BatchResult
  error?: unknown
}

/**
 * better-sqlite3: synchronous, prepared statements, a batch runs inside one synchronous
 * transaction (nothing interleaves).
 *
 * Group commit: batches that arrive in the same event-loop turn share one `BEGIN IMMEDIATE …
 * COMMIT`, and none resolves before it. A batch reads only the versions its conditions need, checks
 * them all, and writes only then, so a failed condition writes nothing and needs no savepoint. Only
 * an SQL error can stop a batch midway: then the whole transaction rolls back and the group runs
 * again with a savepoint per batch, so that the failing batch rolls back alone.
 */
export const openBetterSqlite3 = async (o: ConnectionOptions): Promise<SqlDriver> => {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(o.path, { timeout: o.busyTimeoutMs })
  try {
    for (const sql of pragmas(o)) await retryBusy(() => db.prepare(sql).run(), o.busyTimeoutMs)
  } catch (error) {
    db.close()
    throw error
  }
  const statements = new Map<string, Statement<unknown[]>>()
  const prepared = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = db.prepare<unknown[]>(sql)
      if (statements.size > 200) statements.clear()
      statements.set(sql, statement)
    }
    return statement
  }
  const selectVersion = db.prepare<[string, string, number], number>(SELECT_VERSION).pluck()
  const put = db.prepare<[string, string, string, number, number | null]>(PUT)
  const bump = db.prepare<[string, string, string, number | null, number], number>(BUMP).pluck()
  const remove = db.prepare<[string, string]>(DELETE_ONE)

  /** One batch, inside the caller's transaction. */
  const apply = (ns: string, ops: WriteOp[]): BatchResult => {
    const now = Date.now()
    const current = new Map<string, number>()
    for (const key of keysToRead(ops)) current.set(key, selectVersion.get(ns, key, now) ?? 0)
    const plan = planBatch(ops, current)
    if (!plan.ok) return plan.result
    const { writes, versions } = plan
    for (const w of writes) {
      if (w.kind === 'bump') versions[w.op] = bump.get(ns, w.key, w.value, w.expiresAt, now) as number
      else if (w.kind === 'put') put.run(ns, w.key, w.value, w.version, w.expiresAt)
      else remove.run(ns, w.key)
    }
    return { ok: true, versions }
  }
  const applyAll = db.transaction((items: Pending[]) => {
    for (const item of items) item.result = apply(item.ns, item.ops)
  })
  const applyInSavepoint = db.transaction(apply) // nested in a transaction: a savepoint
  const applyEach = db.transaction((items: Pending[]) => {
    for (const item of items) {
      try {
        item.result = applyInSavepoint(item.ns, item.ops)
        item.error = undefined
      } catch (error) {
        item.result = undefined
        item.error = error
      }
    }
  })
  const commit = (items: Pending[]) => {
    try {
      applyAll.immediate(items)
    } catch (error) {
      if (items.length === 1 || isBusy(error)) throw error
      applyEach.immediate(items)
    }
  }

  let queue: Pending[] = []
  const flush = () => {
    const items = queue
    queue = []
    retryBusy(() => commit(items), o.busyTimeoutMs).then(
      () => {
        for (const item of items) {
          if (item.error === undefined) item.resolve(item.result as BatchResult)
          else item.reject(item.error)
        }
      },
      (error) => {
        for (const item of items) item.reject(error)
      },
    )
  }
  return {
    name: 'better-sqlite3',
    query: async (sql, params) => retryBusy(() => prepared(sql).all(...params) as Row[], o.busyTimeoutMs),
    batch: (ns, ops) =>
      new Promise<BatchResult>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ ns, ops, resolve, reject })
      }),
    close: async () => {
      if (db.open) db.close()
    },
  }
}
