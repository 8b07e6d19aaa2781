import { afterAll, beforeAll, beforeEach, describe } from 'vitest'
import { databaseActions } from '../../src/index.js'
import { quoter, type SuiteContext, schemaFor, TABLES, type Target } from './context.js'
import { crudTests } from './crud.js'
import { errorTests } from './errors.js'
import { hostileTests } from './hostile.js'
import { idempotencyTests } from './idempotency.js'
import { outputTests } from './outputs.js'
import { queryTests } from './query.js'
import { safetyTests } from './safety.js'

/**
 * The one suite every dialect runs. The server starts once per file. Without its binaries the suite is
 * skipped on a developer machine and fails under CI (`CI=true`), so a missing server never passes silently.
 */
export const defineDatabaseSuite = (target: Target, extra?: (t: SuiteContext) => void) => {
  const skip = target.missing !== undefined && process.env.CI !== 'true'
  if (skip) console.warn(`[actions-database] ${target.dialect} tests skipped: ${target.missing}`)
  describe.skipIf(skip)(`actions-database on ${target.dialect}`, () => {
    const t = {} as SuiteContext
    beforeAll(async () => {
      if (target.missing) throw new Error(target.missing)
      t.harness = await target.start()
      for (const statement of schemaFor(target.dialect)) await t.harness.exec(statement)
      t.db = databaseActions(t.harness.options)
    })
    afterAll(async () => {
      await t.db?.close()
      await t.harness?.stop()
    })
    beforeEach(async () => {
      const q = quoter(target.dialect)
      for (const table of TABLES) await t.harness.exec(`DELETE FROM ${q(table)}`)
    })
    crudTests(t)
    queryTests(t)
    safetyTests(t)
    idempotencyTests(t)
    errorTests(t)
    outputTests(t)
    hostileTests(t)
    extra?.(t)
  })
}
