import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '@do-sdk/core'
import { DoSdkError, InvalidArgumentError, StoreError } from '@do-sdk/core'
import { openBetterSqlite3 } from './driver-better-sqlite3.js'
import { openSqlite3 } from './driver-sqlite3.js'
import type { SqlDriver, SqliteDriverName } from './drivers.js'
import type { Row } from './sql.js'
import { chunks, listQuery, SELECT_ONE, selectIn } from './sql.js'

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file (created if missing). Several processes on one machine may open the same file. `:memory:` for a private in-memory database. */
  path: string
  /** Isolates this app's keys from other apps in the same file (any string; it is a column, not a key prefix). @default '' */
  namespace?: string
  /**
   * SQLite module. `better-sqlite3` (synchronous, prepared statements) was measured ~20× faster
   * than `sqlite3` for batches, see docs/datastores.md. @default 'better-sqlite3'
   */
  driver?: SqliteDriverName
  /** `NORMAL` (WAL: a power loss can lose the last commits, never corrupt) or `FULL` (fsync on every commit). @default 'NORMAL' */
  synchronous?: 'NORMAL' | 'FULL'
  /** How long a write waits for another process's lock before retrying, in ms; BUSY is retried for as long again before it surfaces. @default 5_000 */
  busyTimeoutMs?: number
}

const NAME = 'sqlite'

const toEntry = (row: Row): StoredEntry =>
  row.expires_at === null
    ? { value: row.value, version: row.version }
    : { value: row.value, version: row.version, expiresAt: row.expires_at }

const live = (row: Row, now: number) => row.expires_at === null || row.expires_at > now

/**
 * A Datastore in one SQLite file: survives restarts, and several processes on one machine may
 * share the file (`multiProcess`). A `batch` is one `BEGIN IMMEDIATE … COMMIT` transaction, so its
 * compare-and-set conditions hold against every process; `list` is a range scan of the primary key
 * (never `LIKE`). WAL journal, `synchronous = NORMAL` by default. Expired entries are filtered on
 * read and replaced on write (core's retention sweeper deletes them: `nativeTtl: false`).
 *
 * The table is `do_entries (ns, key, value, version, expires_at)`. The `sqlite3` driver runs on
 * `@keyv/sqlite`'s connection; the `better-sqlite3` driver opens its own (`@keyv/sqlite` 4.0.8
 * ignores its `connect` option).
 *
 * @example
 * ```ts
 * const store = sqliteStore({ path: './do.db' })
 * const engine = createEngine({ store, workflows: [onboarding] })
 * ```
 */
export const sqliteStore = (options: SqliteStoreOptions): Datastore => {
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] Missing required option "path".`)
  }
  const driverName = options.driver ?? 'better-sqlite3'
  if (driverName !== 'better-sqlite3' && driverName !== 'sqlite3') {
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] Unknown driver ${JSON.stringify(driverName)}: use "better-sqlite3" or "sqlite3".`)
  }
  const synchronous = options.synchronous ?? 'NORMAL'
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] Option "synchronous" must be "NORMAL" or "FULL", got ${JSON.stringify(synchronous)}.`,
    )
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000
  if (!Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] Option "busyTimeoutMs" must be a number of ms >= 0, got ${String(busyTimeoutMs)}.`)
  }
  const ns = options.namespace ?? ''
  if (typeof ns !== 'string') throw new InvalidArgumentError(`[do-sdk] [${NAME}] Option "namespace" must be a string.`)
  const { path } = options

  const fail = (what: string, error: unknown): never => {
    if (DoSdkError.isInstance(error)) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new StoreError(`[do-sdk] [${NAME}] ${what} failed (${path}): ${reason}`, NAME, { cause: error })
  }

  let opening: Promise<SqlDriver> | undefined
  let opened: SqlDriver | undefined // `opening` once settled, so the hot path skips an await
  let closed = false
  const driver = async (): Promise<SqlDriver> => {
    if (closed) throw new StoreError(`[do-sdk] [${NAME}] The store is closed (${path}).`, NAME)
    if (opened) return opened
    opening ??= (driverName === 'sqlite3' ? openSqlite3 : openBetterSqlite3)({ path, synchronous, busyTimeoutMs }).then(
      (db) => {
        if (!closed) opened = db
        return db
      },
      (error) => {
        opening = undefined // the next call tries again (the disk may come back)
        return fail('opening the database', error)
      },
    )
    return opening
  }
  const read = async (what: string, sql: string, params: unknown[]) => {
    const db = await driver()
    try {
      return await db.query(sql, params)
    } catch (error) {
      return fail(what, error)
    }
  }

  return {
    name: NAME,
    capabilities: { multiProcess: true, atomicBatch: true, nativeTtl: false, pubsub: false },
    async get(key) {
      const [row] = await read(`get of ${JSON.stringify(key)}`, SELECT_ONE, [ns, key])
      return row && live(row, Date.now()) ? toEntry(row) : undefined
    },
    async getMany(keys) {
      const unique = [...new Set(keys)]
      const found = new Map<string, Row>()
      for (const part of chunks(unique)) {
        for (const row of await read(`getMany of ${part.length} keys`, selectIn(part.length), [ns, ...part])) found.set(row.key, row)
      }
      const now = Date.now()
      return keys.map((key) => {
        const row = found.get(key)
        return row && live(row, now) ? toEntry(row) : undefined
      })
    },
    async list(prefix: string, opts: ListOptions = {}) {
      const { sql, params } = listQuery(ns, prefix, opts, Date.now())
      const rows = await read(`list of ${JSON.stringify(prefix)}`, sql, params)
      return rows.map((row): ListedEntry => ({ key: row.key, ...toEntry(row) }))
    },
    async batch(ops: WriteOp[]): Promise<BatchResult> {
      if (ops.length === 0) return { ok: true, versions: [] }
      const db = !closed && opened ? opened : await driver()
      try {
        return await db.batch(ns, ops)
      } catch (error) {
        const keys = new Set(ops.map((op) => op.key)).size
        return fail(`batch of ${ops.length} ops on ${JSON.stringify(ops[0]?.key)}${keys > 1 ? ` and ${keys - 1} more keys` : ''}`, error)
      }
    },
    async close() {
      if (closed) return
      closed = true
      const pending = opening
      opening = undefined
      opened = undefined
      if (pending) await (await pending.catch(() => undefined))?.close()
    },
  }
}
