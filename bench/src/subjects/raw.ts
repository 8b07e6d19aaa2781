// The baselines: the workload's functions called directly, and the raw writes of the stores
// underneath (3 writes per workflow, one per step, each awaited before the next step runs).
import { join } from 'node:path'
import { createClient } from '@redis/client'
import Database from 'better-sqlite3'
import { needRedis, type Subject, type SubjectContext, s1, s2, s3 } from '../workload.js'

/** No persistence: the three step functions, awaited in sequence. */
export const plain = async (): Promise<Subject> => ({
  run: async () => {
    const a = await s1()
    const b = await s2()
    const c = await s3()
    return { a, b, c }
  },
  close: async () => {},
})

/** A better-sqlite3 file in WAL mode with synchronous=NORMAL (the durability do-sdk's SQLite store defaults to). */
const openSqlite = (ctx: SubjectContext, name: string) => {
  const db = new Database(join(ctx.dir, name))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE IF NOT EXISTS steps (run TEXT NOT NULL, step INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run, step))')
  return { db, insert: db.prepare<[string, number, string]>('INSERT INTO steps (run, step, value) VALUES (?, ?, ?)') }
}

let runSeq = 0
const nextRun = () => `r${++runSeq}`

/** Three INSERTs, each its own (autocommit) transaction. */
export const rawSqlite = async (ctx: SubjectContext): Promise<Subject> => {
  const { db, insert } = openSqlite(ctx, 'raw.db')
  const write = async (run: string, step: number, value: unknown) => {
    insert.run(run, step, JSON.stringify(value))
  }
  return {
    run: async () => {
      const run = nextRun()
      const a = s1()
      await write(run, 1, a)
      const b = s2()
      await write(run, 2, b)
      const c = s3()
      await write(run, 3, c)
      return { a, b, c }
    },
    close: async () => {
      db.close()
    },
  }
}

/**
 * Three INSERTs, the inserts of every workflow in flight committed together: one transaction per
 * event-loop turn (group commit). Each step waits for the commit of its own insert.
 */
export const rawSqliteBatched = async (ctx: SubjectContext): Promise<Subject> => {
  const { db, insert } = openSqlite(ctx, 'raw-batched.db')
  let queue: { run: string; step: number; value: string; done: () => void }[] = []
  const commit = db.transaction((rows: typeof queue) => {
    for (const r of rows) insert.run(r.run, r.step, r.value)
  })
  const flush = () => {
    const rows = queue
    queue = []
    commit(rows)
    for (const r of rows) r.done()
  }
  const write = (run: string, step: number, value: unknown) =>
    new Promise<void>((done) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ run, step, value: JSON.stringify(value), done })
    })
  return {
    run: async () => {
      const run = nextRun()
      const a = s1()
      await write(run, 1, a)
      const b = s2()
      await write(run, 2, b)
      const c = s3()
      await write(run, 3, c)
      return { a, b, c }
    },
    close: async () => {
      db.close()
    },
  }
}

/** Three SETs on one node-redis client (the client do-sdk's Redis store uses). */
export const rawRedis = async (ctx: SubjectContext): Promise<Subject> => {
  const client = createClient({ url: needRedis(ctx) })
  await client.connect()
  return {
    run: async () => {
      const run = nextRun()
      const a = s1()
      await client.set(`raw:${run}:1`, JSON.stringify(a))
      const b = s2()
      await client.set(`raw:${run}:2`, JSON.stringify(b))
      const c = s3()
      await client.set(`raw:${run}:3`, JSON.stringify(c))
      return { a, b, c }
    },
    close: async () => {
      await client.close()
    },
  }
}

/** Three SETs, the SETs of every workflow in flight sent as one pipeline per event-loop turn. */
export const rawRedisPipelined = async (ctx: SubjectContext): Promise<Subject> => {
  const client = createClient({ url: needRedis(ctx) })
  await client.connect()
  let queue: { key: string; value: string; done: () => void; fail: (e: unknown) => void }[] = []
  const flush = () => {
    const items = queue
    queue = []
    const pipe = client.multi()
    for (const item of items) pipe.set(item.key, item.value)
    pipe.execAsPipeline().then(
      () => {
        for (const item of items) item.done()
      },
      (error) => {
        for (const item of items) item.fail(error)
      },
    )
  }
  const set = (key: string, value: unknown) =>
    new Promise<void>((done, fail) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ key, value: JSON.stringify(value), done, fail })
    })
  return {
    run: async () => {
      const run = nextRun()
      const a = s1()
      await set(`rawp:${run}:1`, a)
      const b = s2()
      await set(`rawp:${run}:2`, b)
      const c = s3()
      await set(`rawp:${run}:3`, c)
      return { a, b, c }
    },
    close: async () => {
      await client.close()
    },
  }
}
