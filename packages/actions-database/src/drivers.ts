import type { Dialect } from './errors.js'
import { MissingDriverError } from './errors.js'

/** The driver package each dialect loads on its first query (an optional peer dependency). */
export const DRIVERS = { sqlite: 'better-sqlite3', postgres: 'pg', mysql: 'mysql2' } as const satisfies Record<Dialect, string>
export type DriverName = (typeof DRIVERS)[Dialect]

/** Imports a driver package; injectable so that tests can stand in for a machine without it. */
export type DriverLoader = (name: DriverName) => Promise<unknown>

// Literal specifiers, so that bundlers see them (and can keep them external).
const IMPORTS: Record<DriverName, () => Promise<unknown>> = {
  'better-sqlite3': () => import('better-sqlite3'),
  pg: () => import('pg'),
  mysql2: () => import('mysql2'),
}

/** Node's own loader. */
export const importDriver: DriverLoader = (name) => IMPORTS[name]()

/** True when `error` says that `name` itself (not one of its dependencies) cannot be found. */
const isMissing = (error: unknown, name: string): boolean => {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`))
}

const defaultExport = <T>(mod: unknown): T => ((mod as { default?: T }).default ?? mod) as T

/**
 * Loads the driver of `dialect`. A driver that is not installed fails with a {@link MissingDriverError}
 * naming it and the command that installs it, instead of a module resolution error (which the retry
 * policy would also have retried).
 */
export const loadDriver = async <T>(dialect: Dialect, loader: DriverLoader): Promise<T> => {
  const name = DRIVERS[dialect]
  try {
    return defaultExport<T>(await loader(name))
  } catch (error) {
    if (isMissing(error, name)) throw new MissingDriverError(dialect, name, { cause: error })
    throw error
  }
}

/**
 * better-sqlite3 installs without its compiled binding when the package manager skipped its build
 * script (pnpm 10 does, unless it is in `onlyBuiltDependencies`); the failure then shows only when a
 * database is opened, as "Could not locate the bindings file".
 */
export const isMissingBinding = (error: unknown): boolean =>
  error instanceof Error && /Could not locate the bindings file|was compiled against a different Node\.js version/.test(error.message)
