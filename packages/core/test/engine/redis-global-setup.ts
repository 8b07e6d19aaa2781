// Starts one real redis-server on 127.0.0.1 for the engine-on-redis project (each test uses its own namespace).
import type { TestProject } from 'vitest/node'

export default async function setup(project: TestProject) {
  const { startRedis } = await import('../../../store-redis/test/redis-server.js')
  const redis = await startRedis()
  project.provide('redisUrl', redis.url)
  return async () => redis.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}
