import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { datastoreConformance } from '@do-sdk/core/testing'
import { describe, expect, it } from 'vitest'
import { jsonFileStore } from '../src/json-file-store.js'

const dir = mkdtempSync(join(tmpdir(), 'json-file-store-'))
let n = 0

// The three lines that check an adapter against the whole Datastore contract:
datastoreConformance({ describe, it }, () => jsonFileStore({ path: join(dir, `${++n}.json`) }), { name: 'jsonFileStore conformance' })

describe('jsonFileStore', () => {
  it('keeps its entries across a restart', async () => {
    const path = join(dir, 'restart.json')
    await jsonFileStore({ path }).batch([{ op: 'set', key: 'k', value: 'v' }])
    expect(await jsonFileStore({ path }).get('k')).toEqual({ value: 'v', version: 1 })
  })
})
