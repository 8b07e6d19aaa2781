// The stores the scale, list and flow parts measure, as a spec a child process can be handed.
import type { Datastore } from '@do-sdk/core'
import { redisStore } from '@do-sdk/store-redis'
import { sqliteStore } from '@do-sdk/store-sqlite'

export type StoreSpec = { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string; namespace: string }

export const openStore = (spec: StoreSpec): Datastore =>
  spec.kind === 'sqlite' ? sqliteStore({ path: spec.path }) : redisStore({ url: spec.url }, { namespace: spec.namespace })
