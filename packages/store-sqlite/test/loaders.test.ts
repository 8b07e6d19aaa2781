// What a user sees when a SQLite module is missing or half installed: one CapabilityError that says
// what to install or build. Played with fake node_modules folders (copies of the real packages
// without their native builds) and empty ones, so the real install stays untouched.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CapabilityError, StoreError } from '@do-sdk/core'
import { afterAll, describe, expect, it } from 'vitest'
import { openBetterSqlite3 } from '../src/driver-better-sqlite3.js'
import { openSqlite3 } from '../src/driver-sqlite3.js'
import type { ConnectionOptions } from '../src/drivers.js'
import type { BetterSqlite3Constructor } from '../src/loaders.js'
import { loadBetterSqlite3, loadKeyvSqlite } from '../src/loaders.js'

const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-loaders-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const connection = (): ConnectionOptions => ({
  path: join(dir, 'never-created.db'),
  synchronous: 'NORMAL',
  busyTimeoutMs: 0,
  checkpoints: 'inline',
})

/** The folder of package `name` as `fromDir` resolves it. */
const packageRoot = (fromDir: string, name: string): string => {
  let at = dirname(createRequire(join(fromDir, 'noop.js')).resolve(name))
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(at, 'package.json'), 'utf8')).name === name) return at
    } catch {}
    const up = dirname(at)
    if (up === at) throw new Error(`no package.json for ${name}`)
    at = up
  }
}
const here = dirname(new URL(import.meta.url).pathname)
const betterSqlite3 = packageRoot(here, 'better-sqlite3')
const keyvSqlite = packageRoot(here, '@keyv/sqlite')
const sqlite3 = packageRoot(keyvSqlite, 'sqlite3')

/**
 * An importer of package `name` as a module in `root` imports it, with Node's own ESM resolution:
 * the probe lives in a node_modules folder, so the test runner hands it to Node untransformed (its
 * `require` would also search pnpm's NODE_PATH, where every package of the workspace is found).
 */
const importFrom = (root: string) => {
  const probe = join(root, 'node_modules', 'do-sdk-probe', 'index.mjs')
  mkdirSync(dirname(probe), { recursive: true })
  writeFileSync(probe, 'export const load = (name) => import(name)\n')
  return async <T>(name: string): Promise<T> => {
    const { load } = (await import(/* @vite-ignore */ pathToFileURL(probe).href)) as { load: (name: string) => Promise<T> }
    return load(name)
  }
}

/**
 * A node_modules folder under a new directory: `copies` are copied without their native build
 * (package.json and the given folders only), `links` point at the real installed packages.
 * Returns an importer resolving from that directory.
 */
const fakeInstall = (copies: [name: string, from: string, parts: string[]][], links: [name: string, from: string][]) => {
  const root = mkdtempSync(join(dir, 'install-'))
  for (const [name, from, parts] of copies) {
    const to = join(root, 'node_modules', name)
    mkdirSync(to, { recursive: true })
    for (const part of ['package.json', ...parts]) cpSync(join(from, part), join(to, part), { recursive: true })
  }
  for (const [name, from] of links) {
    mkdirSync(dirname(join(root, 'node_modules', name)), { recursive: true })
    symlinkSync(from, join(root, 'node_modules', name), 'dir')
  }
  return importFrom(root)
}
/** An importer from a directory with no node_modules: every package is missing. */
const nothingInstalled = () => importFrom(mkdtempSync(join(dir, 'empty-')))

/** The rejection of `promise`, which must be a CapabilityError; returns its message. */
const capabilityMessage = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(CapabilityError)
  expect((error as Error).message).not.toContain('\n') // one clear line, not a stack of paths
  expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(Error) // the original, for debugging
  return (error as Error).message
}

describe('better-sqlite3 (the default driver)', () => {
  it('not installed: names the package and how to install it', async () => {
    const load = nothingInstalled()
    const message = await capabilityMessage(openBetterSqlite3(connection(), () => load('better-sqlite3')))
    expect(message).toBe(
      '[do-sdk] [sqlite] The default driver needs the "better-sqlite3" package, which is not installed: add it ' +
        '(npm install better-sqlite3), or use driver: "sqlite3" with "@keyv/sqlite" installed.',
    )
  })

  it('not installed, as require() reports it (the CommonJS build): the same error', async () => {
    const cjs = Object.assign(
      new Error("Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/node_modules/@do-sdk/store-sqlite/dist/index.cjs"),
      {
        code: 'MODULE_NOT_FOUND',
      },
    )
    expect(await capabilityMessage(loadBetterSqlite3(() => Promise.reject(cjs)))).toContain('needs the "better-sqlite3" package')
  })

  it('installed without its native build (pnpm 10 skipped its install script): says how to build it', async () => {
    const load = fakeInstall([['better-sqlite3', betterSqlite3, ['lib']]], [['bindings', packageRoot(betterSqlite3, 'bindings')]])
    const importer = () => load<{ default: BetterSqlite3Constructor }>('better-sqlite3')
    const message = await capabilityMessage(openBetterSqlite3(connection(), importer))
    expect(message).toMatch(
      /^\[do-sdk\] \[sqlite\] better-sqlite3 is installed but its native addon is missing or was built for another Node\.js version \(v\d+/,
    )
    expect(message).toContain('pnpm approve-builds')
    expect(message).toContain('"onlyBuiltDependencies"')
    expect(message).toContain('npm rebuild better-sqlite3')
    // The original error really was the bindings one.
    const error = await openBetterSqlite3(connection(), importer).catch((e: Error) => e)
    expect(String((error as Error & { cause: Error }).cause.message)).toContain('Could not locate the bindings file')
  })

  it('another missing module (a dependency of the package) is not reported as the package missing', async () => {
    const nested = Object.assign(new Error("Cannot find module 'bindings'\nRequire stack:\n- /x/better-sqlite3/lib/database.js"), {
      code: 'MODULE_NOT_FOUND',
    })
    const error = await loadBetterSqlite3(() => Promise.reject(nested)).catch((e: unknown) => e)
    expect(error).toBe(nested)
  })
})

describe('@keyv/sqlite and sqlite3 (driver: "sqlite3", optional peers)', () => {
  it('not installed: names the package to add, only when that driver is chosen', async () => {
    const message = await capabilityMessage(openSqlite3(connection(), nothingInstalled()))
    expect(message).toBe(
      '[do-sdk] [sqlite] driver: "sqlite3" needs the optional packages "@keyv/sqlite", "sqlite3" and "keyv", and "sqlite3" is not installed: ' +
        'add them (npm install @keyv/sqlite sqlite3 keyv), or use the default driver, "better-sqlite3".',
    )
    // sqlite3 there, @keyv/sqlite not: that one is named.
    const load = fakeInstall([], [['sqlite3', sqlite3]])
    expect(await capabilityMessage(loadKeyvSqlite(load))).toContain('and "@keyv/sqlite" is not installed')
  })

  it('sqlite3 installed without its native build: says how to build sqlite3', async () => {
    const load = fakeInstall(
      [
        ['@keyv/sqlite', keyvSqlite, ['dist']],
        ['sqlite3', sqlite3, ['lib']],
      ],
      [
        ['keyv', packageRoot(keyvSqlite, 'keyv')],
        ['bindings', packageRoot(sqlite3, 'bindings')],
      ],
    )
    const message = await capabilityMessage(loadKeyvSqlite(load))
    expect(message).toMatch(/^\[do-sdk\] \[sqlite\] sqlite3 is installed but its native addon is missing/)
    expect(message).toContain('npm rebuild sqlite3')
  })

  it('keyv (the peer of @keyv/sqlite) missing: named', async () => {
    const load = fakeInstall([['@keyv/sqlite', keyvSqlite, ['dist']]], [['sqlite3', sqlite3]])
    expect(await capabilityMessage(loadKeyvSqlite(load))).toContain('and "keyv" is not installed')
  })
})

describe('through the store', () => {
  it('the real install loads both drivers', async () => {
    expect(typeof (await loadBetterSqlite3())).toBe('function')
    expect(typeof (await loadKeyvSqlite()).KeyvSqlite).toBe('function')
  })

  it('an open failure that is not an install problem stays a StoreError naming the file', async () => {
    const { sqliteStore } = await import('@do-sdk/store-sqlite')
    const store = sqliteStore({ path: join(dir, 'missing', 'x.db') })
    const error = await store.get('k').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect(error).not.toBeInstanceOf(CapabilityError)
  })
})
