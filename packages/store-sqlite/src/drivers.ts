import type { BatchResult, WriteOp } from '@do-sdk/core'
import type { Row } from './sql.js'
import { EXPIRY_INDEX_SCHEMA, SCHEMA } from './sql.js'

/** Which SQLite module runs the SQL. */
export type SqliteDriverName = 'better-sqlite3' | 'sqlite3'

/** Connection settings shared by both drivers. */
export interface ConnectionOptions {
  path: string
  synchronous: 'NORMAL' | 'FULL'
  /** How long a statement waits, in ms, for a lock another connection holds (retried asynchronously, see {@link retryBusy}). */
  busyTimeoutMs: number
  /**
   * Where WAL checkpoints run: `background` on a worker thread (better-sqlite3, whose commits run on
   * the event loop; see checkpointer.ts), `inline` in the commit that crosses SQLite's threshold.
   * The sqlite3 driver runs every statement on libuv's threads already and ignores it.
   */
  checkpoints: 'background' | 'inline'
}

/**
 * Where WAL checkpoints run now: `inline` (in SQLite's commits: before the worker starts, or always),
 * `starting`, `background` (the worker runs them), `failed` (the worker could not start or died:
 * inline again).
 */
export type CheckpointState = 'inline' | 'starting' | 'background' | 'failed'

/** What the store needs from a connection. */
export interface SqlDriver {
  readonly name: SqliteDriverName
  /** A read outside any transaction. */
  query(sql: string, params: unknown[]): Promise<Row[]>
  /**
   * Applies `ops` (at least one) in namespace `ns` inside a `BEGIN IMMEDIATE … COMMIT`
   * transaction: all of them, or none when a condition fails or an error is thrown.
   */
  batch(ns: string, ops: WriteOp[]): Promise<BatchResult>
  /** Deletes up to `limit` rows expired at `now` (Unix ms), in one statement; resolves with how many. Not retried on BUSY: a sweep is best effort. */
  sweep(now: number, limit: number): Promise<number>
  /** Where checkpoints run now (better-sqlite3); the sqlite3 driver has none of its own. */
  checkpointState?(): CheckpointState
  close(): Promise<void>
}

export const isBusy = (error: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown })?.code ?? ''))
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Longest pause between two attempts, in ms: a lock is usually held for one short transaction. */
const MAX_BACKOFF_MS = 100

/**
 * Runs `fn`, retrying while SQLite answers BUSY or LOCKED (another connection holds the lock), for
 * up to `budgetMs`, with jittered exponential backoff (1 ms up to {@link MAX_BACKOFF_MS}).
 *
 * Connections are opened with `busy_timeout = 0`, so SQLite never waits for a lock itself: with
 * better-sqlite3 that wait would be synchronous and freeze the whole process (timers, I/O, other
 * runs) for as long as another process holds the lock. Waiting here, between attempts, the event
 * loop keeps running. The jitter keeps processes that wait for the same lock from retrying in step.
 */
export const retryBusy = async <T>(fn: () => T | Promise<T>, budgetMs: number): Promise<T> => {
  const deadline = Date.now() + budgetMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      const left = deadline - Date.now()
      if (!isBusy(error) || left <= 0) throw error
      const backoff = 1 + Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt)
      await sleep(Math.min(backoff, left)) // the last attempt comes at the deadline, not after it
    }
  }
}

/** The statements run once per connection: locking and durability settings, the table and its expiry index. */
export const pragmas = (o: ConnectionOptions) => [
  // 0: never wait inside SQLite (see retryBusy).
  'PRAGMA busy_timeout = 0',
  'PRAGMA journal_mode = WAL',
  `PRAGMA synchronous = ${o.synchronous}`,
  SCHEMA,
  EXPIRY_INDEX_SCHEMA,
]
