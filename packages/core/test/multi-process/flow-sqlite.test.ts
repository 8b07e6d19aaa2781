// Schedules and flow control across engine processes sharing one SQLite file (see flow-scenarios.ts).
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterEach, describe, it } from 'vitest'
import { perKeyLimit, rateLimitAcross, scheduleTicksOnce } from './flow-scenarios.js'
import { cleanup, tempDir } from './harness.js'
import type { SharedStore } from './scenarios.js'

const shared = (): SharedStore => {
  const path = join(tempDir('do-mp-sqlite-'), 'runs.db')
  return { args: ['--sqlite', path], open: () => sqliteStore({ path }) }
}

describe('schedules and flow control across processes sharing one SQLite file', () => {
  afterEach(cleanup)

  it('a schedule every second, 3 processes, one SIGKILLed: each tick starts exactly one run, none lost', async () => {
    await scheduleTicksOnce(shared())
  }, 90_000)

  it('a per-key concurrency limit of 1, 3 processes, one SIGKILLed: never two runs of a key executing at once', async () => {
    await perKeyLimit(shared())
  }, 90_000)

  it('a rate limit of 5 per 2 s, triggered from 3 processes: at most 5 runs created in any 2 s', async () => {
    await rateLimitAcross(shared())
  }, 90_000)
})
