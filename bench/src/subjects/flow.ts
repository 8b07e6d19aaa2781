// The workload of issue 8 with a concurrency key (`concurrency: { key: (i) => i.user, limit: 1 }`),
// on one engine per subject as in do-sdk.ts: a distinct user per workflow (the key costs its slot
// writes, never a wait), or one hot user (every run waits for the one before).
import { join } from 'node:path'
import { createEngine, type Datastore, memoryStore, silentLogger, workflow } from '@do-sdk/core'
import { redisStore } from '@do-sdk/store-redis'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { needRedis, type Subject, type SubjectContext, s1, s2, s3 } from '../workload.js'

/** `threeSteps` with a per-user limit of 1. */
export const threeStepsPerUser = workflow.create({
  id: 'bench-three-steps-per-user',
  concurrency: { key: (i: { user: string }) => i.user, limit: 1 },
  run: async ({ step }) => {
    const a = await step.run('s1', s1)
    const b = await step.run('s2', s2)
    const c = await step.run('s3', s3)
    return { a, b, c }
  },
})

const onEngine = async (store: Datastore, user: (i: number) => string): Promise<Subject> => {
  const engine = createEngine({ store, workflows: [threeStepsPerUser], logger: silentLogger, concurrency: 100 })
  await engine.start()
  return {
    run: async (i) => (await engine.trigger(threeStepsPerUser, { user: user(i) })).result(),
    close: async () => {
      await engine.stop()
      await store.close?.()
    },
  }
}

const distinct = (i: number) => `user-${i}`
const hot = () => 'user-hot'

export const doMemoryKeys = (_ctx: SubjectContext) => onEngine(memoryStore(), distinct)
export const doMemoryHotKey = (_ctx: SubjectContext) => onEngine(memoryStore(), hot)
export const doSqliteKeys = (ctx: SubjectContext) => onEngine(sqliteStore({ path: join(ctx.dir, 'keys.db') }), distinct)
export const doSqliteHotKey = (ctx: SubjectContext) => onEngine(sqliteStore({ path: join(ctx.dir, 'hot.db') }), hot)
export const doRedisKeys = (ctx: SubjectContext) => onEngine(redisStore({ url: needRedis(ctx) }, { namespace: 'bench-keys' }), distinct)
export const doRedisHotKey = (ctx: SubjectContext) => onEngine(redisStore({ url: needRedis(ctx) }, { namespace: 'bench-hot' }), hot)
