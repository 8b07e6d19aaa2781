// Setup file of the engine-suite projects: installs the store factory named by DO_SDK_ENGINE_STORE.
import { join } from 'node:path'
import { setStoreFactory, storeKind, tempDir, uniqueName } from './fixtures.js'

if (storeKind === 'keyv') {
  const { default: Keyv } = await import('keyv')
  const { keyvStore } = await import('../../src/index.js')
  setStoreFactory(() => keyvStore(new Keyv({ store: new Map(), throwOnErrors: true })))
} else if (storeKind === 'sqlite') {
  const { sqliteStore } = await import('@do-sdk/store-sqlite')
  const dir = tempDir()
  setStoreFactory(() => sqliteStore({ path: join(dir, `${uniqueName()}.db`) }))
} else if (storeKind === 'redis') {
  const { inject } = await import('vitest')
  const url = inject('redisUrl')
  if (!url) throw new Error('No Redis URL: the engine-on-redis project needs the Redis started by its global setup')
  const { redisStore } = await import('@do-sdk/store-redis')
  setStoreFactory(() => redisStore({ url }, { namespace: uniqueName() }))
}
if (storeKind === 'postgres') {
  const { inject } = await import('vitest')
  const url = inject('postgresUrl')
  if (!url) throw new Error('No PostgreSQL URL: the engine-on-postgres project needs the server started by its global setup')
  const { postgresStore } = await import('@do-sdk/store-postgres')
  setStoreFactory(() => postgresStore({ connectionString: url, poolSize: 3 }, { namespace: uniqueName() }))
}
