import type { BatchResult, WriteOp } from '@do-sdk/core'
import type { Row } from './sql.js'
import { SCHEMA } from './sql.js'

/** Which SQLite module runs the SQL. */
export type SqliteDriverName = 'better-sqlite3' | 'sqlite3'

/** Connection settings shared by both drivers. */
export interface ConnectionOptions {
  path: string
  synchronous: 'NORMAL' | 'FULL'
  /** How long a writer waits for another connection's lock, in ms (`PRAGMA busy_timeout`, and again in async retries). */
  busyTimeoutMs: number
}

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
  close(): Promise<void>
}

export const isBusy = (error: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown })?.code ?? ''))
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs `fn`, retrying while SQLite answers BUSY or LOCKED (another process holds the write lock
 * longer than `busy_timeout`, or a lock SQLite does not wait for, e.g. while a WAL is recovered),
 * with jittered backoff, for up to `budgetMs` more.
 */
export const retryBusy = async <T>(fn: () => T | Promise<T>, budgetMs: number): Promise<T> => {
  const deadline = Date.now() + budgetMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error
      await sleep(1 + Math.random() * Math.min(50, 2 ** attempt))
    }
  }
}

/** The statements run once per connection: locking and durability settings, then the table. */
export const pragmas = (o: ConnectionOptions) => [
  `PRAGMA busy_timeout = ${Math.max(0, Math.floor(o.busyTimeoutMs))}`,
  'PRAGMA journal_mode = WAL',
  `PRAGMA synchronous = ${o.synchronous}`,
  SCHEMA,
]
