// What a user could write instead of engine.listRuns, on the same machine and data:
// - raw queries on the store's own layout (the run indexes `ix/…` the engine keeps): the best a
//   hand-written query can do there;
// - a table of runs of their own (SQLite: a table with an index on (workflow, status, created_at);
//   Redis: a sorted set per workflow and status, scored by creation time, and a string per run).
import { createClient } from '@redis/client'
import Database from 'better-sqlite3'
import { engineKeys } from './run-entries.js'
import type { StoreSpec } from './stores.js'

/** Where the user's own table of runs lives. */
export type RunsTable = { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string; prefix: string }

export interface TableRow {
  id: string
  workflowId: string
  status: string
  createdAt: number
  /** The run record as JSON (the same bytes the store holds). */
  record: string
}

/** Every call resolves with what it found (runs listed, or the count), so nothing is optimised away. */
export interface UserTable {
  insert(rows: TableRow[]): Promise<void>
  list(workflowId: string, status: string, limit: number): Promise<number>
  count(workflowId: string, status: string): Promise<number>
  close(): Promise<void>
}

export interface RawLister {
  /** The index range of (workflow, status), newest first: keys only. */
  indexKeys(workflowId: string, status: string, limit: number): Promise<number>
  /** The same range and the run records it points to, parsed. */
  indexRecords(workflowId: string, status: string, limit: number): Promise<number>
  countIndex(workflowId: string, status: string): Promise<number>
  close(): Promise<void>
}

const prefixEnd = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
/** Index keys end in `{16-digit time}/{runId}` after their prefix. */
const RUN_ID_OFFSET = 16 + 1

const openSqlite = (path: string) => {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  return db
}

const redisClient = async (url: string) => {
  const client = createClient({ url })
  await client.connect()
  return client
}

export const runsTable = async (spec: RunsTable): Promise<UserTable> => {
  if (spec.kind === 'sqlite') {
    const db = openSqlite(spec.path)
    db.exec(`CREATE TABLE IF NOT EXISTS runs (
      id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, record TEXT NOT NULL)`)
    db.exec('CREATE INDEX IF NOT EXISTS runs_by_workflow_status ON runs (workflow_id, status, created_at)')
    const put = db.prepare('INSERT INTO runs (id, workflow_id, status, created_at, record) VALUES (?, ?, ?, ?, ?)')
    const insert = db.transaction((rows: TableRow[]) => {
      for (const r of rows) put.run(r.id, r.workflowId, r.status, r.createdAt, r.record)
    })
    const list = db.prepare('SELECT record FROM runs WHERE workflow_id = ? AND status = ? ORDER BY created_at DESC LIMIT ?').pluck()
    const count = db.prepare('SELECT count(*) FROM runs WHERE workflow_id = ? AND status = ?').pluck()
    return {
      insert: async (rows) => insert(rows),
      list: async (wf, status, limit) => (list.all(wf, status, limit) as string[]).map((r) => JSON.parse(r)).length,
      count: async (wf, status) => count.get(wf, status) as number,
      close: async () => {
        db.close()
      },
    }
  }
  const client = await redisClient(spec.url)
  const set = (wf: string, status: string) => `${spec.prefix}:runs:${wf}:${status}`
  const run = (id: string) => `${spec.prefix}:run:${id}`
  return {
    insert: async (rows) => {
      await Promise.all(
        rows.flatMap((r) => [
          client.sendCommand(['ZADD', set(r.workflowId, r.status), String(r.createdAt), r.id]),
          client.sendCommand(['SET', run(r.id), r.record]),
        ]),
      )
    },
    list: async (wf, status, limit) => {
      const ids = (await client.sendCommand([
        'ZRANGE',
        set(wf, status),
        '+inf',
        '-inf',
        'BYSCORE',
        'REV',
        'LIMIT',
        '0',
        String(limit),
      ])) as string[]
      if (ids.length === 0) return 0
      const records = (await client.sendCommand(['MGET', ...ids.map(run)])) as string[]
      return records.map((r) => JSON.parse(r)).length
    },
    count: async (wf, status) => Number(await client.sendCommand(['ZCARD', set(wf, status)])),
    close: async () => {
      await client.close()
    },
  }
}

export const rawListers = async (store: StoreSpec): Promise<RawLister> => {
  const range = (wf: string, status: string) => {
    const prefix = engineKeys.index.workflowStatus(wf, status)
    return { prefix, end: prefixEnd(prefix) }
  }
  if (store.kind === 'sqlite') {
    const db = openSqlite(store.path)
    const ns = '' // sqliteStore's default namespace
    const keysOnly = db.prepare('SELECT key FROM do_entries WHERE ns = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?').pluck()
    // One statement: the index range in key order, each key joined to its run record by primary key.
    const withRecords = db
      .prepare(
        `SELECT r.value FROM do_entries ix JOIN do_entries r ON r.ns = ix.ns AND r.key = 'run/' || substr(ix.key, ?)
         WHERE ix.ns = ? AND ix.key >= ? AND ix.key < ? ORDER BY ix.key LIMIT ?`,
      )
      .pluck()
    const count = db.prepare('SELECT count(*) FROM do_entries WHERE ns = ? AND key >= ? AND key < ?').pluck()
    return {
      indexKeys: async (wf, status, limit) => {
        const { prefix, end } = range(wf, status)
        return keysOnly.all(ns, prefix, end, limit).length
      },
      indexRecords: async (wf, status, limit) => {
        const { prefix, end } = range(wf, status)
        return (withRecords.all(prefix.length + RUN_ID_OFFSET + 1, ns, prefix, end, limit) as string[]).map((v) => JSON.parse(v)).length
      },
      countIndex: async (wf, status) => {
        const { prefix, end } = range(wf, status)
        return count.get(ns, prefix, end) as number
      },
      close: async () => {
        db.close()
      },
    }
  }
  // The Redis store's layout (packages/store-redis/src/scripts.ts): `do:{ns}:i` a sorted set of every
  // key, scored 0 (listed by ZRANGEBYLEX), `do:{ns}:e:<key>` a hash whose field `v` is the value.
  const client = await redisClient(store.url)
  const index = `do:{${store.namespace}}:i`
  const entry = (key: string) => `do:{${store.namespace}}:e:${key}`
  const members = (wf: string, status: string, limit: number) => {
    const { prefix, end } = range(wf, status)
    return client.sendCommand(['ZRANGEBYLEX', index, `[${prefix}`, `(${end}`, 'LIMIT', '0', String(limit)]) as Promise<string[]>
  }
  return {
    indexKeys: async (wf, status, limit) => (await members(wf, status, limit)).length,
    indexRecords: async (wf, status, limit) => {
      const { prefix } = range(wf, status)
      const keys = await members(wf, status, limit)
      // One pipeline (node-redis sends the commands of one tick together): a second round trip.
      const values = await Promise.all(
        keys.map((k) => client.sendCommand(['HGET', entry(`run/${k.slice(prefix.length + RUN_ID_OFFSET)}`), 'v']) as Promise<string>),
      )
      return values.map((v) => JSON.parse(v)).length
    },
    countIndex: async (wf, status) => {
      const { prefix, end } = range(wf, status)
      return Number(await client.sendCommand(['ZLEXCOUNT', index, `[${prefix}`, `(${end}`]))
    },
    close: async () => {
      await client.close()
    },
  }
}
