import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NonRetryableError } from '@do-sdk/core'
import { afterAll, describe, expect, it } from 'vitest'
import type { DriverLoader, DriverName } from '../src/drivers.js'
import { importDriver } from '../src/drivers.js'
import { createDatabaseActions } from '../src/factory.js'
import { type DatabaseActionsOptions, MissingDriverError } from '../src/index.js'

// better-sqlite3, pg and mysql2 are optional peers: a machine has only the one it uses. The loader is
// injected to stand in for a machine where the driver is missing, as Node reports it (ESM and CJS).

const dir = mkdtempSync(join(tmpdir(), 'do-sdk-drivers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const notInstalled =
  (missing: DriverName, style: 'esm' | 'cjs' = 'esm', calls: DriverName[] = []): DriverLoader =>
  async (name) => {
    calls.push(name)
    if (name !== missing) return importDriver(name)
    throw style === 'esm'
      ? Object.assign(new Error(`Cannot find package '${name}' imported from /app/node_modules/@do-sdk/actions-database/dist/index.js`), {
          code: 'ERR_MODULE_NOT_FOUND',
        })
      : Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- /app/index.cjs`), { code: 'MODULE_NOT_FOUND' })
  }

const cases: [DatabaseActionsOptions, DriverName][] = [
  [{ dialect: 'sqlite', path: join(dir, 'never-created.db') }, 'better-sqlite3'],
  [{ dialect: 'postgres', connectionString: 'postgres://app:pw@127.0.0.1:1/app' }, 'pg'],
  [{ dialect: 'mysql', uri: 'mysql://app:pw@127.0.0.1:1/app' }, 'mysql2'],
]

describe('docs/packs/database.md, drivers', () => {
  // docs/packs/database.md: "a dialect whose driver is missing fails with a `MissingDriverError` (a `NonRetryableError`) naming the driver and the command that installs it"
  it.each(cases)('%j without %s: a MissingDriverError naming the driver and its install command, not retried', async (options, driver) => {
    for (const style of ['esm', 'cjs'] as const) {
      const calls: DriverName[] = []
      const db = createDatabaseActions(
        { ...options, retry: { retries: 3, minTimeout: 0 } },
        { loadDriver: notInstalled(driver, style, calls) },
      )
      // docs/packs/database.md: "opens no connection until the first query"
      expect(calls).toEqual([])
      const err = await db.insert.execute({ table: 'users', values: { email: 'a@x' } }).catch((e) => e)
      expect(err).toBeInstanceOf(MissingDriverError)
      expect(err).toBeInstanceOf(NonRetryableError)
      expect(err).toMatchObject({ dialect: options.dialect, driver, installCommand: `npm install ${driver}` })
      expect(err.message).toBe(
        `[do-sdk] [database:${options.dialect}] The "${driver}" driver is not installed. The ${options.dialect} dialect needs it next to ` +
          `@do-sdk/actions-database: npm install ${driver} (or: pnpm add ${driver}, yarn add ${driver}).`,
      )
      // One attempt: retrying cannot install a package.
      expect(calls).toEqual([driver])
      await db.close()
    }
    // Nothing was written: not even the SQLite file was created.
    expect(existsSync(join(dir, 'never-created.db'))).toBe(false)
  })

  it('a missing dependency of the driver is not reported as the driver missing', async () => {
    const loader: DriverLoader = async () => {
      throw Object.assign(new Error("Cannot find package 'pg-pool' imported from /app/node_modules/pg/lib/index.js"), {
        code: 'ERR_MODULE_NOT_FOUND',
      })
    }
    const db = createDatabaseActions({ ...(cases[1]?.[0] as DatabaseActionsOptions), retry: false }, { loadDriver: loader })
    const err = await db.select.execute({ table: 'users' }).catch((e) => e)
    expect(err).not.toBeInstanceOf(MissingDriverError)
    expect(err.message).toContain("'pg-pool'")
    await db.close()
  })

  // docs/packs/database.md: "better-sqlite3 installed without its native build … fails the same way, saying how to build it"
  it('better-sqlite3 without its compiled binding: a MissingDriverError that says how to build it', async () => {
    const unbuilt: DriverLoader = async () => ({
      default: class {
        constructor() {
          throw new Error('Could not locate the bindings file. Tried:\n → /app/node_modules/better-sqlite3/build/better_sqlite3.node')
        }
      },
    })
    const db = createDatabaseActions(
      { dialect: 'sqlite', path: join(dir, 'unbuilt.db'), retry: { retries: 2, minTimeout: 0 } },
      { loadDriver: unbuilt },
    )
    const err = await db.select.execute({ table: 'users' }).catch((e) => e)
    expect(err).toBeInstanceOf(MissingDriverError)
    expect(err.message).toMatch(
      /"better-sqlite3" driver is installed but its native module was not built.*npm rebuild better-sqlite3.*onlyBuiltDependencies/,
    )
    await db.close()
  })

  it('with the driver installed, the same factory works (the real loader)', async () => {
    const db = createDatabaseActions({ dialect: 'sqlite', path: ':memory:' })
    expect((await db.query.execute({ sql: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }])
    await db.close()
  })
})
