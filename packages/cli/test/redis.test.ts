// The CLI on Redis: a real redis-server on 127.0.0.1 (skipped with a warning only outside CI when
// redis-server is missing; under CI=true that is a failure).
import { redisStore } from '@do-sdk/store-redis'
import { describe } from 'vitest'
import { findRedisServer, startRedis } from '../../store-redis/test/redis-server.js'
import { serverScenario } from './server-scenario.js'

const run = findRedisServer() !== undefined || process.env.CI === 'true'
if (!run) console.warn('\n*** redis-server not found: SKIPPING the CLI tests on Redis (CI=true makes this a failure). ***\n')

describe.runIf(run)('do-sdk on Redis', () => {
  serverScenario(async () => {
    const redis = await startRedis()
    const flags = { namespace: 'cli-test' }
    return { url: redis.url, flags, open: () => redisStore({ url: redis.url }, flags), stop: () => redis.stop() }
  })
})
