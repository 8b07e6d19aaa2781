import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '@do-sdk/core'
import { describeBatch, expirySweeper, InvalidArgumentError, lazyResource, namespaceOption, StoreError, storeError } from '@do-sdk/core'
import { openBetterSqlite3 } from './driver-better-sqlite3.js'
import { openSqlite3 } from './driver-sqlite3.js'
import type { CheckpointState, SqlDriver, SqliteDriverName } from './drivers.js'
import type { Row } from './sql.js'
import { chunks, countQuery, listQuery, SELECT_ONE, SWEEP_BATCH, selectIn } from './sql.js'

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file (created if missing). Several processes on one machine may open the same file. `:memory:` for a private in-memory database. */
  path: string
  /**
   * Isolates this app's keys from other apps in the same file: any well-formed string (it is a
   * column, not a key prefix). @default ''
   */
  namespace?: string
  /**
   * SQLite module. `better-sqlite3` (synchronous, prepared statements) was measured 3–11× faster
   * than `sqlite3`, see docs/datastores.md. `sqlite3` needs the optional peer `@keyv/sqlite`
   * installed. @default 'better-sqlite3'
   */
  driver?: SqliteDriverName
  /** `NORMAL` (WAL: a power loss can lose the last commits, never corrupt) or `FULL` (fsync on every commit). @default 'NORMAL' */
  synchronous?: 'NORMAL' | 'FULL'
  /**
   * How long a read or write waits for a lock another process holds, in ms, before it fails with a
   * `StoreError`. The wait never blocks the event loop: the store polls the lock asynchronously,
   * with jittered backoff up to 100 ms. @default 5_000
   */
  busyTimeoutMs?: number
  /**
   * How often expired rows are deleted from the file, in ms (a few hundred rows per statement, on
   * an unref'd timer); 0 turns the sweeper off. Expired rows are absent for every read meanwhile.
   * @default 60_000
   */
  sweepIntervalMs?: number
  /**
   * Where the WAL is copied back into the database file (a checkpoint, every 1,000 pages or so).
   * `background`: on a worker thread with a connection of its own, started once the store has
   * committed a few hundred times, so no commit stalls the event loop for it (about 10% off a
   * sequential workflow, docs/benchmarks.md); SQLite's own checkpoint stays as a safety net at
   * 10,000 pages. `inline`: SQLite's default, inside the commit that crosses 1,000 pages. Only the
   * `better-sqlite3` driver uses it (`sqlite3` runs every statement off the event loop already).
   * @default 'background'
   */
  checkpoints?: 'background' | 'inline'
}

const NAME = 'sqlite'

const toEntry = (row: Row): StoredEntry =>
  row.expires_at === null
    ? { value: row.value, version: row.version }
    : { value: row.value, version: row.version, expiresAt: row.expires_at }

const live = (row: Row, now: number) => row.expires_at === null || row.expires_at > now

/** The store's internal hooks, not part of the Datastore contract (tests use them). */
export interface SqliteStoreInternals {
  /** Deletes every row expired now, a few hundred per statement; resolves with how many. Does nothing before the file is opened. */
  sweepExpired(): Promise<number>
  /** Where WAL checkpoints run now (see the `checkpoints` option); `undefined` before the file is opened and with the sqlite3 driver. */
  checkpointState(): CheckpointState | undefined
}

/**
 * A Datastore in one SQLite file: survives restarts, and several processes on one machine may
 * share the file (`multiProcess`). A `batch` is one `BEGIN IMMEDIATE … COMMIT` transaction, so its
 * compare-and-set conditions hold against every process; `list` and `count` are range scans of the
 * primary key (never `LIKE`). WAL journal, `synchronous = NORMAL` by default. A lock held by
 * another process is waited for asynchronously: the event loop never blocks on it.
 *
 * Expired entries are absent for every read at once, and a sweeper deletes their rows every
 * `sweepIntervalMs` (through an index on `expires_at`), so the file does not grow with them.
 *
 * The table is `do_entries (ns, key, value, version, expires_at)`. The `sqlite3` driver runs on
 * `@keyv/sqlite`'s connection (an optional peer, loaded only for that driver); the
 * `better-sqlite3` driver opens its own.
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
  const checkpoints = options.checkpoints ?? 'background'
  if (checkpoints !== 'background' && checkpoints !== 'inline') {
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] Option "checkpoints" must be "background" or "inline", got ${JSON.stringify(checkpoints)}.`,
    )
  }
  const busyTimeoutMs = msOption('busyTimeoutMs', options.busyTimeoutMs, 5_000)
  const sweepIntervalMs = msOption('sweepIntervalMs', options.sweepIntervalMs, 60_000)
  const ns = namespaceOption(NAME, options.namespace, { default: '' })
  const { path } = options

  // Every failure names the file: several stores may run in one process.
  const fail = (what: string, error: unknown): never => {
    throw storeError(NAME, `${what} (${path})`, error)
  }
  const db = lazyResource<SqlDriver>({
    open: () =>
      (driverName === 'sqlite3' ? openSqlite3 : openBetterSqlite3)({ path, synchronous, busyTimeoutMs, checkpoints }).catch(
        (error: unknown) => fail('opening the database', error),
      ),
    release: (driver) => driver.close(),
    closedError: () => new StoreError(`[do-sdk] [${NAME}] The store is closed (${path}).`, NAME),
  })
  const read = async (what: string, sql: string, params: unknown[]) => {
    const driver = db.value ?? (await db.get())
    try {
      return await driver.query(sql, params)
    } catch (error) {
      return fail(what, error)
    }
  }

  const sweepExpired = async (): Promise<number> => {
    let total = 0
    for (;;) {
      const driver = db.value
      if (!driver) return total // not opened (or closed): nothing to open a file for
      let deleted: number
      try {
        deleted = await driver.sweep(Date.now(), SWEEP_BATCH)
      } catch (error) {
        return fail('deleting expired rows', error)
      }
      total += deleted
      if (deleted < SWEEP_BATCH) return total
      await new Promise((resolve) => setImmediate(resolve)) // lets batches in between, each statement is short
    }
  }
  // Best effort: a failed sweep (another process holds the lock) is tried again next time.
  const sweeper = expirySweeper({ intervalMs: sweepIntervalMs, sweep: sweepExpired })

  const store: Datastore = {
    name: NAME,
    capabilities: { multiProcess: true, atomicBatch: true, pubsub: false },
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
    /**
     * The live entries whose key starts with `prefix`, within `after`/`before` (exclusive): exactly
     * what `list` with the same arguments returns, counted without reading a value. One `SELECT`
     * over the primary key index; expired rows not swept yet are subtracted through the expiry index.
     */
    async count(prefix: string, opts: Pick<ListOptions, 'after' | 'before'> = {}) {
      const { sql, params } = countQuery(ns, prefix, opts, Date.now())
      const [row] = await read(`count of ${JSON.stringify(prefix)}`, sql, params)
      return Number((row as unknown as { n: number }).n)
    },
    async batch(ops: WriteOp[]): Promise<BatchResult> {
      if (ops.length === 0) return { ok: true, versions: [] }
      const driver = db.value ?? (await db.get())
      try {
        return await driver.batch(ns, ops)
      } catch (error) {
        return fail(describeBatch(ops), error)
      }
    },
    async close() {
      sweeper.stop()
      await db.close()
    },
  }
  const internals: SqliteStoreInternals = { sweepExpired: sweeper.run, checkpointState: () => db.value?.checkpointState?.() }
  for (const [name, value] of Object.entries(internals)) Object.defineProperty(store, name, { value, enumerable: false })
  return store
}

const msOption = (name: string, value: number | undefined, fallback: number): number => {
  const ms = value ?? fallback
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] Option "${name}" must be a number of ms >= 0, got ${String(ms)}.`)
  }
  return ms
}
