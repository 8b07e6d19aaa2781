// Schedules and flow control across engine processes sharing one real redis-server (see flow-scenarios.ts).
import { redisStore } from '@do-sdk/store-redis'
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest'
import { findRedisServer, type RedisServer, startRedis } from '../../../store-redis/test/redis-server.js'
import { perKeyLimit, rateLimitAcross, scheduleTicksOnce } from './flow-scenarios.js'
import { cleanup } from './harness.js'
import type { SharedStore } from './scenarios.js'

// Under CI a missing redis-server fails (startRedis throws); elsewhere these tests are skipped loudly.
const haveRedis = findRedisServer() !== undefined || process.env.CI === 'true'
if (!haveRedis)
  console.warn('\n*** redis-server not found: SKIPPING the multi-process Redis flow tests (CI=true makes this a failure) ***\n')

let redis: RedisServer
let seq = 0
const shared = (): SharedStore => {
  const namespace = `flow${++seq}-${process.pid}`
  return { args: ['--redis', redis.url, '--namespace', namespace], open: () => redisStore({ url: redis.url }, { namespace }) }
}

describe.skipIf(!haveRedis)('schedules and flow control across processes sharing one Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await cleanup()
    await redis?.stop()
  })
  afterEach(cleanup)

  it('a schedule every second, 3 processes, one SIGKILLed: each tick starts exactly one run, none lost', async () => {
    await scheduleTicksOnce(shared())
  }, 90_000)

  it('a per-key concurrency limit of 1, 3 processes, one SIGKILLed: never two runs of a key executing at once', async () => {
    await perKeyLimit(shared())
  }, 90_000)

  it('a rate limit of 5 per 2 s, triggered from 3 processes: at most 5 runs created in any 2 s', async () => {
    await rateLimitAcross(shared())
  }, 90_000)
})
