// do-sdk itself: one engine per subject, the workflow triggered and its result awaited.
import { join } from 'node:path'
import { createEngine, type Datastore, memoryStore, silentLogger } from '@do-sdk/core'
import { redisStore } from '@do-sdk/store-redis'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { needRedis, type Subject, type SubjectContext, threeSteps } from '../workload.js'

const onEngine = async (store: Datastore): Promise<Subject> => {
  const engine = createEngine({ store, workflows: [threeSteps], logger: silentLogger, concurrency: 100 })
  await engine.start()
  return {
    run: async (i) => (await engine.trigger(threeSteps, { i })).result(),
    close: async () => {
      await engine.stop()
      await store.close?.()
    },
  }
}

export const doMemory = (_ctx: SubjectContext) => onEngine(memoryStore())

/** Default durability: WAL + synchronous=NORMAL. */
export const doSqlite = (ctx: SubjectContext) => onEngine(sqliteStore({ path: join(ctx.dir, 'do-sdk.db') }))

export const doSqlite3 = (ctx: SubjectContext) => onEngine(sqliteStore({ path: join(ctx.dir, 'do-sdk-sqlite3.db'), driver: 'sqlite3' }))

export const doRedis = (ctx: SubjectContext) => onEngine(redisStore({ url: needRedis(ctx) }, { namespace: 'bench' }))
