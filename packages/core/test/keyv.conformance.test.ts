import { type Datastore, keyvStore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import Keyv from 'keyv'
import { describe, it } from 'vitest'

const backends = new WeakMap<Datastore, Map<string, unknown>>()
const open = (map = new Map<string, unknown>(), namespace?: string) => {
  const store = keyvStore(new Keyv({ store: map, throwOnErrors: true }), namespace === undefined ? {} : { namespace })
  backends.set(store, map)
  return store
}
const shared = new Map<string, unknown>()

datastoreConformance({ describe, it }, () => open(), {
  name: 'keyvStore conformance (Map)',
  factoryWithNamespace: (ns) => open(shared, ns),
  breakStore: (store) => {
    const map = backends.get(store) as Map<string, unknown>
    const broken = () => {
      throw new Error('disk on fire')
    }
    Object.assign(map, { get: broken, set: broken, delete: broken, has: broken })
  },
})
