import { basicGroups } from './conformance-basic.js'
import type { ConformanceRunner, DatastoreConformanceOptions, DatastoreFactory } from './conformance-context.js'
import { makeTest } from './conformance-context.js'
import { keyGroups } from './conformance-keys.js'
import { listGroups } from './conformance-list.js'
import { raceGroups } from './conformance-races.js'

/**
 * Registers the Datastore conformance suite with your test runner: every rule of the contract in
 * `datastore/types.ts`, as tests. Each test opens fresh stores with `factory` and closes them after.
 *
 * Groups: basic key-value, versions, conditional writes, batch atomicity, in-batch order, ordered
 * listing, TTL, compare-and-set races, leases and fencing, pub/sub, hostile keys, opaque values,
 * getMany; plus, when their hook is given, namespaces (`factoryWithNamespace`), races across two
 * connections (`reopen`) and surfaced errors (`breakStore`).
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { datastoreConformance } from '@do-sdk/core/testing'
 * datastoreConformance({ describe, it }, () => myStore({ path: tmpFile() }))
 * ```
 */
export const datastoreConformance = (runner: ConformanceRunner, factory: DatastoreFactory, options: DatastoreConformanceOptions = {}) => {
  const test = makeTest(runner, factory, options)
  runner.describe(options.name ?? 'Datastore conformance', () => {
    basicGroups(runner.describe, test)
    listGroups(runner.describe, test, options.skip?.ttl === true)
    raceGroups(runner.describe, test, options.reopen !== undefined)
    keyGroups(runner.describe, test, options)
  })
}
