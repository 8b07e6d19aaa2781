// Many processes, one truth (DESIGN promise 8) on one machine: engine processes sharing one SQLite
// file. SQLite has no pub/sub, so the processes find work by polling.
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, tempDir } from './harness.js'
import { killOne, type SharedStore, shareRuns } from './scenarios.js'

const shared = (): SharedStore => {
  const path = join(tempDir('do-mp-sqlite-'), 'runs.db')
  return { args: ['--sqlite', path], open: () => sqliteStore({ path }) }
}

describe('engine processes sharing one SQLite file', () => {
  afterEach(cleanup)

  it('2 processes share 300 runs: each completes once, every step runs once, no overlapping executions', async () => {
    const { perProcess } = await shareRuns(shared(), { workers: 2, runs: 300 })
    expect(perProcess.reduce((a, b) => a + b, 0)).toBe(900)
  }, 60_000)

  it('a process SIGKILLed mid-way: its runs complete in the other after its lease, in-flight steps run once more with the same key', async () => {
    await killOne(shared(), { workers: 2, runs: 60 })
  }, 60_000)
})
