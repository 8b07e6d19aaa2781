import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Datastore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import { type SqliteDriverName, sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, describe, it } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-conformance-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

for (const driver of ['better-sqlite3', 'sqlite3'] as SqliteDriverName[]) {
  let n = 0
  const paths = new WeakMap<Datastore, string>()
  const open = (path: string, namespace?: string) => {
    const store = sqliteStore({ path, driver, ...(namespace === undefined ? {} : { namespace }) })
    paths.set(store, path)
    return store
  }
  const shared = join(dir, `${driver}-namespaces.db`)
  datastoreConformance({ describe, it }, () => open(join(dir, `${driver}-${++n}.db`)), {
    name: `sqliteStore conformance (${driver})`,
    factoryWithNamespace: (ns) => open(shared, ns),
    reopen: (store) => open(paths.get(store) as string),
    breakStore: async (store) => {
      await store.get('warm-up') // opens the file first, so closing it is what breaks the store
      await store.close?.()
    },
  })
}
