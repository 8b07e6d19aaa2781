import { createHash } from 'node:crypto'
import type { Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '@do-sdk/core'
import { DoSdkError, StoreError } from '@do-sdk/core'
import type { Pool } from 'pg'
import { callParams } from './batch-plan.js'
import { decode, encode, keyRange } from './codec.js'
import { groupCommit } from './group-commit.js'
import { createListener, type ListenClient, payloadOf } from './listener.js'
import { migrate, schemaVersion } from './migrate.js'
import { checkConnection, NAME, type PostgresConnection, type PostgresStoreOptions, resolveOptions } from './options.js'
import { quoteIdent, SCHEMA_VERSION, statements } from './schema.js'
import { startSweeper } from './sweeper.js'

interface Row {
  key: string
  value: string
  version: string | number
  expires_at: number | null
}

const toEntry = (row: Row): StoredEntry =>
  row.expires_at === null
    ? { value: decode(row.value), version: Number(row.version) }
    : { value: decode(row.value), version: Number(row.version), expiresAt: row.expires_at }

/** NOTIFY payloads must be shorter than 8,000 bytes. */
const MAX_PAYLOAD = 7_999
/** Keys (ops) per call of the batch function at most. */
const MAX_ROWS = 2_000

/**
 * How a server refuses a statement name: 26000, no such prepared statement (Bind on a connection
 * that never parsed it), and 42P05, one of that name exists already (Parse on a connection another
 * client prepared it on). Both come before anything of the call ran.
 */
const refusedName = (error: unknown) => {
  const code = (error as { code?: unknown })?.code
  return code === '26000' || code === '42P05'
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex')

/**
 * A Datastore on PostgreSQL, for apps running on many machines: `{ multiProcess: true, atomicBatch:
 * true, pubsub: true }`, on node-postgres (`pg` 8, a peer dependency).
 *
 * - A `batch` is one statement, so one round trip and one transaction: a call of the `do_batch_v2`
 *   function that the migration installs. It locks the batch's keys (advisory locks, in sorted
 *   order), reads their live versions, and writes only when every condition holds. The batches of
 *   one event-loop turn share that call (group commit), each still all-or-nothing on its own.
 * - `list` and `count` are range scans of the primary key `(ns, key)` (never `LIKE`); `getMany` is
 *   one query; `now()` is the server's `clock_timestamp()`, and expiry is judged by the same clock.
 * - Expired rows are absent for every method and deleted by a sweeper (an unref'd timer, bounded
 *   deletes, stopped by `close()`).
 * - `publish`/`subscribe` use NOTIFY and one dedicated LISTEN session connection, reconnected when
 *   it drops.
 * - The table and function are created on first use by versioned migrations, safe when several
 *   processes start at once. No session state, and named prepared statements only until a pooler
 *   refuses one (`preparedStatements: 'auto'`), so the main connection may go through PgBouncer in
 *   transaction mode.
 *
 * @example
 * ```ts
 * const store = postgresStore({ connectionString: process.env.DATABASE_URL }, { namespace: 'billing' })
 * // or with a pool you own (never ended by the store):
 * const store2 = postgresStore({ pool: new Pool({ connectionString }) }, { schema: 'do_sdk' })
 * ```
 */
export const postgresStore = (connection: PostgresConnection, options: PostgresStoreOptions = {}): Datastore => {
  const conn = checkConnection(connection)
  const o = resolveOptions(options)
  const ns = encode(o.namespace)
  const sql = statements(quoteIdent(o.schema))
  const channel = `do_sdk_${hash(o.schema, o.namespace).slice(0, 32)}`
  const names = new Map<string, string>()
  /** Whether calls name their statements; `'auto'` turns it off for good at the first refusal. */
  let named = o.preparedStatements !== false
  /**
   * Runs one statement, named while `named` holds. In `'auto'` mode a refused name (a pooler that
   * does not carry named statements: the error comes at Parse or Bind, before anything ran) turns
   * naming off and sends the same call again, unnamed.
   */
  const run = async (p: Pool, text: string, values: unknown[]) => {
    if (!named) return p.query({ text, values })
    let name = names.get(text)
    if (!name) names.set(text, (name = `do_sdk_${hash(text).slice(0, 20)}`))
    try {
      return await p.query({ text, values, name })
    } catch (error) {
      if (o.preparedStatements !== 'auto' || !refusedName(error)) throw error
      named = false
      return p.query({ text, values })
    }
  }

  const fail = (what: string, error: unknown): never => {
    if (DoSdkError.isInstance(error)) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new StoreError(`[do-sdk] [${NAME}] ${what} failed: ${reason}`, NAME, { cause: error })
  }

  let pool: Pool | undefined = 'pool' in conn ? (conn.pool as unknown as Pool) : undefined
  let opening: Promise<Pool> | undefined
  let ready = false
  let closed = false
  const loadPg = async () => {
    const mod = (await import('pg')) as unknown as { default?: typeof import('pg') } & typeof import('pg')
    return mod.default ?? mod
  }
  /** The pool, migrated: opened and checked once, again after a failure. */
  const open = (): Promise<Pool> => {
    if (closed) return Promise.reject(new StoreError(`[do-sdk] [${NAME}] The store is closed.`, NAME))
    opening ??= (async () => {
      if (!pool && 'connectionString' in conn) {
        const pg = await loadPg()
        const own = new pg.Pool({ connectionString: conn.connectionString, max: conn.poolSize })
        own.on('error', () => {}) // an idle connection dropped: the next query opens a new one
        pool = own
      }
      const p = pool as Pool
      if (o.migrate) await migrate(p, o.schema)
      else {
        const version = await schemaVersion(p, o.schema)
        if (version < SCHEMA_VERSION)
          throw new StoreError(
            `[do-sdk] [${NAME}] Schema "${o.schema}" is at version ${version}, this release needs ${SCHEMA_VERSION}: run once with migrate: true (a role with CREATE).`,
            NAME,
          )
      }
      ready = true
      if (o.sweepIntervalMs > 0 && !closed) sweeper = startSweeper(o.sweepIntervalMs, o.sweepBatchSize, sweep)
      return p
    })().catch((error) => {
      opening = undefined // the next call tries again (the server may come back)
      return fail(`opening schema "${o.schema}"`, error)
    })
    return opening
  }

  const query = async <T>(what: () => string, text: string, values: unknown[]): Promise<T[]> => {
    try {
      const p = ready && !closed && pool ? pool : await open()
      return (await run(p, text, values)).rows as T[]
    } catch (error) {
      return fail(what(), error)
    }
  }

  const sweep = async (limit: number) => {
    if (closed || !pool) return 0
    const res = await pool.query({ text: sql.sweep, values: [ns, limit] })
    return res.rowCount ?? 0
  }
  let sweeper: ReturnType<typeof startSweeper> | undefined

  const group = groupCommit({
    maxInFlight: 'pool' in conn ? Math.max(1, Number((conn.pool as { options?: { max?: number } }).options?.max ?? 10)) : conn.poolSize,
    maxRows: MAX_ROWS,
    send: async (rows) => {
      // Batches accepted before close() still go out: close() ends the pool only once they are done.
      const p = ready && pool ? pool : await open()
      const res = await run(p, sql.batch, callParams(ns, rows))
      const found = String(res.rows[0]?.v ?? '')
        .split(',')
        .map(Number)
      if (found.length !== rows.key.length || found.some((v) => !Number.isInteger(v))) {
        throw new StoreError(`[do-sdk] [${NAME}] The batch function answered ${found.length} versions for ${rows.key.length} keys.`, NAME)
      }
      return found
    },
  })

  const listener = createListener({
    channel,
    open: async () => {
      const p = await open()
      const config = o.listenConnectionString
        ? { connectionString: o.listenConnectionString }
        : 'connectionString' in conn
          ? { connectionString: conn.connectionString }
          : (p as unknown as { options: object }).options
      // A pool built by pg keeps its Client class; otherwise load pg's.
      const Client = (p as unknown as { Client?: new (c: object) => ListenClient }).Client ?? (await loadPg()).Client
      return new Client({ ...config, keepAlive: true }) as ListenClient
    },
  })

  return {
    name: NAME,
    capabilities: { multiProcess: true, atomicBatch: true, nativeTtl: false, pubsub: true },
    async get(key) {
      const rows = await query<Row>(() => `get of ${JSON.stringify(key)}`, sql.get, [ns, encode(key)])
      return rows[0] ? toEntry(rows[0]) : undefined
    },
    async getMany(keys) {
      if (keys.length === 0) return []
      const encoded = keys.map(encode)
      const rows = await query<Row>(() => `getMany of ${keys.length} keys`, sql.getMany, [ns, [...new Set(encoded)]])
      const found = new Map(rows.map((row) => [row.key, row]))
      return encoded.map((k) => {
        const row = found.get(k)
        return row ? toEntry(row) : undefined
      })
    },
    async list(prefix: string, opts: ListOptions = {}) {
      const limit = opts.limit === undefined ? null : Math.max(0, Math.floor(opts.limit))
      const range = keyRange(prefix, opts)
      if (limit === 0 || range.empty) return []
      const text = sql.list[range.upper === undefined ? 0 : 1][opts.reverse ? 1 : 0]
      const values = range.upper === undefined ? [ns, range.lower, limit] : [ns, range.lower, limit, range.upper]
      const rows = await query<Row>(() => `list of ${JSON.stringify(prefix)}`, text, values)
      return rows.map((row): ListedEntry => ({ key: decode(row.key), ...toEntry(row) }))
    },
    async count(prefix, opts = {}) {
      const range = keyRange(prefix, opts)
      if (range.empty) return 0
      const values = range.upper === undefined ? [ns, range.lower] : [ns, range.lower, range.upper]
      const rows = await query<{ n: number }>(() => `count of ${JSON.stringify(prefix)}`, sql.count[values.length === 2 ? 0 : 1], values)
      return Number(rows[0]?.n ?? 0)
    },
    async batch(ops: WriteOp[]) {
      if (ops.length === 0) return { ok: true, versions: [] }
      if (closed) return fail('batch', new StoreError(`[do-sdk] [${NAME}] The store is closed.`, NAME))
      try {
        return await group.batch(ops)
      } catch (error) {
        const keys = new Set(ops.map((op) => op.key)).size
        return fail(`batch of ${ops.length} ops on ${JSON.stringify(ops[0]?.key)}${keys > 1 ? ` and ${keys - 1} more keys` : ''}`, error)
      }
    },
    async publish(ch, message) {
      const payload = payloadOf(ch, message)
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
        fail(
          `publish on ${JSON.stringify(ch)}`,
          new Error(`the message is too large for NOTIFY (at most ${MAX_PAYLOAD} bytes with its channel)`),
        )
      }
      await query(() => `publish on ${JSON.stringify(ch)}`, sql.notify, [channel, payload])
    },
    async subscribe(ch, onMessage) {
      try {
        return await listener.subscribe(ch, onMessage)
      } catch (error) {
        return fail(`subscribe to ${JSON.stringify(ch)} (LISTEN connection)`, error)
      }
    },
    async now() {
      const rows = await query<{ now: number }>(() => 'now()', sql.now, [])
      return Number(rows[0]?.now)
    },
    async close() {
      if (closed) return
      closed = true
      await group.drained()
      await sweeper?.stop()
      await listener.close()
      const pending = opening
      opening = undefined
      await pending?.catch(() => undefined)
      if ('connectionString' in conn) await pool?.end().catch(() => {})
      pool = 'pool' in conn ? (conn.pool as unknown as Pool) : undefined
    },
  }
}
