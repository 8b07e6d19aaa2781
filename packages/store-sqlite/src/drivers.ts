import type { Statement } from 'better-sqlite3'
import type { FinalWrite, Row } from './sql.js'
import { chunks, DELETE_ONE, SCHEMA, selectIn, UPSERT } from './sql.js'

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
   * In one `BEGIN IMMEDIATE … COMMIT`: reads the rows of `keys` in namespace `ns`, lets `decide`
   * compute the writes from them (synchronously), applies the writes.
   */
  readModifyWrite(ns: string, keys: string[], decide: (rows: Row[]) => FinalWrite[]): Promise<void>
  close(): Promise<void>
}

const isBusy = (error: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown })?.code ?? ''))
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

const pragmas = (o: ConnectionOptions) => [
  `PRAGMA busy_timeout = ${Math.max(0, Math.floor(o.busyTimeoutMs))}`,
  'PRAGMA journal_mode = WAL',
  `PRAGMA synchronous = ${o.synchronous}`,
  SCHEMA,
]

const writeRow = (w: FinalWrite, ns: string): [string, unknown[]] =>
  'delete' in w ? [DELETE_ONE, [ns, w.key]] : [UPSERT, [ns, w.key, w.value, w.version, w.expiresAt ?? null]]

/** better-sqlite3: synchronous, prepared statements, a batch is one synchronous transaction (nothing interleaves). */
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
  const selectKeys = (ns: string, keys: string[]) =>
    chunks(keys).flatMap((part) => prepared(selectIn(part.length)).all(ns, ...part) as Row[])
  const applyOne = db.transaction((ns: string, keys: string[], decide: (rows: Row[]) => FinalWrite[]) => {
    for (const write of decide(selectKeys(ns, keys))) {
      const [sql, params] = writeRow(write, ns)
      prepared(sql).run(...params)
    }
  })
  // Group commit: batches that arrive in the same event-loop turn share one transaction. Each batch
  // runs in its own savepoint (better-sqlite3 nests transactions that way), so one failing batch
  // rolls back alone; every batch still applies all of its ops or none, and none resolves before
  // the shared COMMIT.
  type Pending = { ns: string; keys: string[]; decide: (rows: Row[]) => FinalWrite[]; done: (error?: unknown) => void; error?: unknown }
  let queue: Pending[] = []
  const applyGroup = db.transaction((items: Pending[]) => {
    for (const item of items) {
      item.error = undefined
      try {
        applyOne(item.ns, item.keys, item.decide)
      } catch (error) {
        item.error = error
      }
    }
  })
  const flush = () => {
    const items = queue
    queue = []
    retryBusy(() => applyGroup.immediate(items), o.busyTimeoutMs).then(
      () => {
        for (const item of items) item.done(item.error)
      },
      (error) => {
        for (const item of items) item.done(error)
      },
    )
  }
  return {
    name: 'better-sqlite3',
    query: async (sql, params) => retryBusy(() => prepared(sql).all(...params) as Row[], o.busyTimeoutMs),
    readModifyWrite: (ns, keys, decide) =>
      new Promise<void>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ ns, keys, decide, done: (error) => (error === undefined ? resolve() : reject(error)) })
      }),
    close: async () => {
      if (db.open) db.close()
    },
  }
}

/**
 * sqlite3 through `@keyv/sqlite`'s own connection (its `query`). Calls are asynchronous, so a lock
 * keeps anything else off the connection while a transaction is open.
 */
export const openSqlite3 = async (o: ConnectionOptions): Promise<SqlDriver> => {
  const { KeyvSqlite } = await import('@keyv/sqlite')
  const adapter = new KeyvSqlite({ uri: `sqlite://${o.path}`, busyTimeout: o.busyTimeoutMs })
  adapter.on('error', () => {}) // Errors reach us as rejected queries; an unheard 'error' event would throw.
  const q = (sql: string, params: unknown[] = []) => adapter.query(sql, params) as Promise<Row[]>
  let tail: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn)
    tail = run.catch(() => {})
    return run
  }
  try {
    for (const sql of pragmas(o)) await retryBusy(() => q(sql), o.busyTimeoutMs)
  } catch (error) {
    await adapter.close().catch(() => {})
    throw error
  }
  return {
    name: 'sqlite3',
    query: (sql, params) => exclusive(() => retryBusy(() => q(sql, params), o.busyTimeoutMs)),
    readModifyWrite: (ns, keys, decide) =>
      exclusive(async () => {
        await retryBusy(() => q('BEGIN IMMEDIATE'), o.busyTimeoutMs)
        try {
          const rows: Row[] = []
          for (const part of chunks(keys)) rows.push(...(await q(selectIn(part.length), [ns, ...part])))
          for (const write of decide(rows)) await q(...writeRow(write, ns))
          await q('COMMIT')
        } catch (error) {
          await q('ROLLBACK').catch(() => {})
          throw error
        }
      }),
    close: () => exclusive(() => adapter.close()),
  }
}
