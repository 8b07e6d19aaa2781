export type { RedisConnection, RedisStoreOptions } from './redis-store.js'
export { redisStore } from './redis-store.js'
