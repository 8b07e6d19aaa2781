import type { Datastore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import { redisStore } from '@do-sdk/store-redis'
import { createClient, type RedisConnectionClientType } from '@keyv/redis'
import { afterAll, describe, it } from 'vitest'
import { startRedisForTests } from './redis-server.js'

const redis = await startRedisForTests()
afterAll(() => redis?.stop())

let n = 0
const clients = new WeakMap<Datastore, RedisConnectionClientType>()
const namespaces = new WeakMap<Datastore, string>()
const open = (namespace = `conf${process.pid}x${++n}`) => {
  const store = redisStore({ url: redis?.url as string }, { namespace })
  namespaces.set(store, namespace)
  return store
}

describe.skipIf(!redis)('redis', () => {
  datastoreConformance({ describe, it }, () => open(), {
    name: 'redisStore conformance',
    factoryWithNamespace: (ns) => open(ns),
    reopen: (store) => open(namespaces.get(store)),
    breakStore: async (store) => {
      await store.get('warm-up')
      await store.close?.()
    },
  })

  // The same suite through a client the test owns, broken by destroying that client under the store.
  datastoreConformance(
    { describe, it },
    async () => {
      const client = createClient({ url: redis?.url as string })
      client.on('error', () => {})
      await client.connect()
      const store = redisStore({ client }, { namespace: `client${process.pid}x${++n}` })
      clients.set(store, client)
      const close = store.close?.bind(store)
      return Object.assign(store, {
        close: async () => {
          await close?.()
          if (client.isOpen) await client.close()
        },
      })
    },
    {
      name: 'redisStore conformance (existing client)',
      breakStore: (store) => clients.get(store)?.destroy(),
    },
  )
})
