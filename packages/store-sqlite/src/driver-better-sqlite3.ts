import type { BatchResult, WriteOp } from '@do-sdk/core'
import type { Statement } from 'better-sqlite3'
import { keysToRead, planBatch } from './batch-plan.js'
import { DEFAULT_AUTOCHECKPOINT_PAGES, SAFETY_NET_PAGES, startCheckpointer } from './checkpointer.js'
import type { CheckpointState, ConnectionOptions, SqlDriver } from './drivers.js'
import { isBusy, pragmas, retryBusy } from './drivers.js'
import type { BetterSqlite3Constructor, Importer } from './loaders.js'
import { loadBetterSqlite3, newBetterSqlite3 } from './loaders.js'
import type { Row } from './sql.js'
import { BUMP, DELETE_ONE, PUT, SELECT_VERSION, SWEEP } from './sql.js'

/** Commits after which the checkpoint worker starts. */
export const CHECKPOINTER_AFTER_COMMITS = 200
/** Pause between two background checkpoints, in ms. */
const CHECKPOINT_INTERVAL_MS = 50

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
 *
 * Locks: the connection never waits inside SQLite (`timeout: 0`, which would block the event loop);
 * a group that meets another process's lock is retried asynchronously (`retryBusy`), and batches
 * arriving meanwhile queue up and commit, in order, as the next group once it is through.
 *
 * Checkpoints (`checkpoints: 'background'`, files only): once the file has seen
 * {@link CHECKPOINTER_AFTER_COMMITS} commits (a store that lives long enough to gain from it; short
 * ones, such as a test's, never start a thread), a worker thread checkpoints the WAL, and this
 * connection's own checkpoints become a safety net at {@link SAFETY_NET_PAGES} pages.
 *
 * `importer` loads better-sqlite3 (tests pass another to play a broken install).
 */
export const openBetterSqlite3 = async (
  o: ConnectionOptions,
  importer?: Importer<{ default: BetterSqlite3Constructor }>,
  checkpointerModulePath?: string,
): Promise<SqlDriver> => {
  const Database = await loadBetterSqlite3(importer)
  const db = newBetterSqlite3(Database, o.path, { timeout: 0 })
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
  const sweep = db.prepare<[number, number]>(SWEEP)

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
  const background = o.checkpoints === 'background' && o.path !== ':memory:' && o.path !== ''
  let checkpointer: { stop(): Promise<void> } | undefined
  let checkpoints: CheckpointState = 'inline'
  let commits = 0
  const autocheckpoint = (pages: number) => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${pages}`)
  }
  const startCheckpointing = () => {
    checkpoints = 'starting'
    checkpointer = startCheckpointer({
      path: o.path,
      synchronous: o.synchronous,
      intervalMs: CHECKPOINT_INTERVAL_MS,
      modulePath: checkpointerModulePath,
      onReady: () => {
        if (checkpoints === 'starting') checkpoints = 'background'
        autocheckpoint(SAFETY_NET_PAGES)
      },
      onFailed: () => {
        checkpoints = 'failed'
        autocheckpoint(DEFAULT_AUTOCHECKPOINT_PAGES)
      },
    })
  }

  const commit = (items: Pending[]) => {
    try {
      applyAll.immediate(items)
    } catch (error) {
      if (items.length === 1 || isBusy(error)) throw error
      applyEach.immediate(items)
    }
  }

  let queue: Pending[] = []
  /** A group is scheduled or committing: later batches wait for the next group, so groups commit in order. */
  let flushing = false
  const flush = async () => {
    const items = queue
    queue = []
    try {
      await retryBusy(() => commit(items), o.busyTimeoutMs)
      if (background && checkpointer === undefined && ++commits >= CHECKPOINTER_AFTER_COMMITS) startCheckpointing()
      for (const item of items) {
        if (item.error === undefined) item.resolve(item.result as BatchResult)
        else item.reject(item.error)
      }
    } catch (error) {
      for (const item of items) item.reject(error)
    }
    // Batches that arrived while this group waited for a lock form the next group.
    if (queue.length > 0) setImmediate(flush)
    else flushing = false
  }
  return {
    name: 'better-sqlite3',
    query: async (sql, params) => retryBusy(() => prepared(sql).all(...params) as Row[], o.busyTimeoutMs),
    batch: (ns, ops) =>
      new Promise<BatchResult>((resolve, reject) => {
        queue.push({ ns, ops, resolve, reject })
        if (!flushing) {
          // The batches of this event-loop turn form the group: commit them on the next turn.
          flushing = true
          setImmediate(flush)
        }
      }),
    sweep: async (now, limit) => sweep.run(now, limit).changes,
    checkpointState: () => checkpoints,
    close: async () => {
      // The worker's connection first: the last connection to close checkpoints and removes the WAL.
      await checkpointer?.stop()
      if (db.open) db.close()
    },
  }
}
