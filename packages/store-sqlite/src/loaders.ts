// Loading the SQLite modules, which are peers: better-sqlite3 for the default driver, @keyv/sqlite
// (and through it sqlite3) only for `driver: 'sqlite3'`. What goes wrong when installing them
// becomes one error that says how to fix it, instead of a module resolution failure or a long
// "Could not locate the bindings file" stack.
import { CapabilityError } from '@do-sdk/core'
import type BetterSqlite3 from 'better-sqlite3'

/** Imports a module; tests pass another to play a missing or half-installed package. */
export type Importer<T> = () => Promise<T>

/** The better-sqlite3 constructor. */
export type BetterSqlite3Constructor = typeof BetterSqlite3

const NAME = 'sqlite'

/** The package that Node could not find, when `error` is a module resolution failure. */
const missingPackage = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown })?.code
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined
  // ESM: "Cannot find package 'x' imported from …"; CommonJS: "Cannot find module 'x'\nRequire stack: …".
  const specifier = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error).message))?.[1]
  if (specifier === undefined || specifier.startsWith('.') || specifier.startsWith('/')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** True when a native addon is missing (its build script never ran) or was built for another Node.js. */
const nativeAddonMissing = (error: unknown): boolean =>
  (error as { code?: unknown })?.code === 'ERR_DLOPEN_FAILED' ||
  /Could not locate the bindings file|NODE_MODULE_VERSION|invalid ELF header|wrong ELF class/.test(String((error as Error)?.message))

const capabilityError = (message: string, cause: unknown) => {
  const error = new CapabilityError(`[do-sdk] [${NAME}] ${message}`)
  // CapabilityError takes no options; the original error stays reachable for debugging.
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true })
  return error
}

const buildHint = (pkg: string) =>
  `With pnpm 10, allow its build: run "pnpm approve-builds" (or add "${pkg}" to "onlyBuiltDependencies" in ` +
  `pnpm-workspace.yaml) and then "pnpm rebuild ${pkg}"; with npm, run "npm rebuild ${pkg}".`

/** The error for a native addon that cannot be loaded. */
const addonError = (pkg: string, error: unknown) =>
  capabilityError(
    `${pkg} is installed but its native addon is missing or was built for another Node.js version (${process.version}). ${buildHint(pkg)}`,
    error,
  )

/**
 * better-sqlite3, for the default driver. Rejects with a {@link CapabilityError} naming the package
 * when it is not installed.
 */
export const loadBetterSqlite3 = async (
  importer: Importer<{ default: BetterSqlite3Constructor }> = () => import('better-sqlite3'),
): Promise<BetterSqlite3Constructor> => {
  try {
    return (await importer()).default
  } catch (error) {
    if (missingPackage(error) === 'better-sqlite3') {
      throw capabilityError(
        'The default driver needs the "better-sqlite3" package, which is not installed: add it (npm install better-sqlite3), ' +
          'or use driver: "sqlite3" with "@keyv/sqlite" installed.',
        error,
      )
    }
    if (nativeAddonMissing(error)) throw addonError('better-sqlite3', error)
    throw error
  }
}

/**
 * Opens a better-sqlite3 connection. better-sqlite3 loads its native addon in the constructor, so
 * a missing build shows up here: it becomes a {@link CapabilityError} that says how to build it.
 * Any other error (a directory that does not exist) is thrown as it is.
 */
export const newBetterSqlite3 = (
  Database: BetterSqlite3Constructor,
  path: string,
  options: BetterSqlite3.Options,
): BetterSqlite3.Database => {
  try {
    return new Database(path, options)
  } catch (error) {
    if (nativeAddonMissing(error)) throw addonError('better-sqlite3', error)
    throw error
  }
}

/** The part of `@keyv/sqlite` the sqlite3 driver uses. */
export type KeyvSqliteModule = typeof import('@keyv/sqlite')

/** The optional peers of `driver: 'sqlite3'`, in the order they are loaded. */
export type Sqlite3Package = 'sqlite3' | '@keyv/sqlite'

/** Imports one of them; tests pass another to play a missing or half-installed package. */
export type Sqlite3Importer = (name: Sqlite3Package) => Promise<unknown>

const importSqlite3Package: Sqlite3Importer = (name) => (name === 'sqlite3' ? import('sqlite3') : import('@keyv/sqlite'))

/**
 * `@keyv/sqlite` for `driver: 'sqlite3'` only: it and `sqlite3` are optional peers, so that the
 * default install does not build a second native module. Rejects with a {@link CapabilityError}
 * naming the package that is missing (`@keyv/sqlite`, `sqlite3` or `keyv`, its peer), or saying
 * how to build sqlite3.
 *
 * sqlite3 is imported first, on its own: on Node 20, an ES module (`@keyv/sqlite`) importing a
 * CommonJS module that throws while loading (sqlite3 without its native build) rejects the
 * `import()` and also raises an unhandled rejection, which ends the process. Imported directly,
 * sqlite3's failure is an ordinary rejection.
 */
export const loadKeyvSqlite = async (load: Sqlite3Importer = importSqlite3Package): Promise<KeyvSqliteModule> => {
  try {
    await load('sqlite3')
    return (await load('@keyv/sqlite')) as KeyvSqliteModule
  } catch (error) {
    const missing = missingPackage(error)
    if (missing === '@keyv/sqlite' || missing === 'sqlite3' || missing === 'keyv') {
      throw capabilityError(
        `driver: "sqlite3" needs the optional packages "@keyv/sqlite", "sqlite3" and "keyv", and "${missing}" is not installed: ` +
          'add them (npm install @keyv/sqlite sqlite3 keyv), or use the default driver, "better-sqlite3".',
        error,
      )
    }
    if (nativeAddonMissing(error)) throw addonError('sqlite3', error)
    throw error
  }
}
