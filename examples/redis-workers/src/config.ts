// Settings shared by the worker and the producer, from the environment.
import { redisStore } from '@do-sdk/store-redis'

export const config = {
  /** The Redis every process shares. */
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  /** Keys live under `do:{<namespace>}:`, so one Redis can hold several apps. */
  namespace: process.env.NAMESPACE ?? 'orders',
}

export const openStore = () => redisStore({ url: config.redisUrl }, { namespace: config.namespace })
