import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Datastore, DoSdkError } from '@do-sdk/core'
import { CliError, messageOf, UsageError } from './errors.js'

/** Where the runs are, as `--store` names it. */
export type StoreSpec =
  | { kind: 'sqlite' /** Absolute path of the database file. */; path: string }
  | { kind: 'redis'; url: string }
  | { kind: 'postgres'; connectionString: string }

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The namespace the app's engine uses (each store has its own default). */
  namespace?: string
  /** PostgreSQL schema. @default 'public' */
  schema?: string
  /** Relative SQLite paths and the project's own store packages resolve from here. @default process.cwd() */
  cwd?: string
}

/** The package that opens each kind of store: an optional peer of the CLI, loaded only when used. */
export const STORE_PACKAGES = {
  sqlite: '@do-sdk/store-sqlite',
  redis: '@do-sdk/store-redis',
  postgres: '@do-sdk/store-postgres',
} as const

const FORMS = 'sqlite:./do.db, sqlite:/abs/path, redis://host:6379, rediss://…, postgres://user:pass@host/db or postgresql://…'

/** The URL with its password hidden, for messages. */
export const redactUrl = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')

/**
 * Parses a `--store` URL. SQLite paths are resolved against `cwd`; `sqlite:///abs/path` and
 * `sqlite://./rel` are accepted as well as `sqlite:/abs/path` and `sqlite:./rel`.
 * @throws UsageError for anything else
 */
export const parseStoreUrl = (url: string, cwd: string = process.cwd()): StoreSpec => {
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length)
    if (path.startsWith('//')) path = path.slice(2)
    if (path === '') throw new UsageError(`The store URL "${url}" names no file: write sqlite:./do.db or sqlite:/abs/path`)
    if (path === ':memory:') throw new UsageError('sqlite::memory: is a private in-memory database: it holds no runs to read')
    return { kind: 'sqlite', path: resolve(cwd, path) }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`Not a store URL: "${redactUrl(url)}" (use ${FORMS})`)
  }
  if (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') {
    if (parsed.hostname === '') throw new UsageError(`The Redis URL "${redactUrl(url)}" names no host`)
    return { kind: 'redis', url }
  }
  if (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') return { kind: 'postgres', connectionString: url }
  throw new UsageError(`Unknown store URL scheme "${parsed.protocol}" in "${redactUrl(url)}" (use ${FORMS})`)
}

const isMissing = (error: unknown, name: string) => {
  const code = (error as { code?: unknown })?.code
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false
  // Only the package itself: a dependency missing inside it names it in a path, not in quotes.
  return new RegExp(`Cannot find (?:package|module) '${name.replace(/[/.]/g, '\\$&')}'`).test(messageOf(error))
}

/**
 * Imports an optional peer: next to the CLI first, then from the project in `cwd` (a CLI installed
 * globally or run through npx, with the store package installed in the app).
 */
const importPeer = async <T>(name: string, cwd: string): Promise<T> => {
  try {
    return (await import(name)) as T
  } catch (error) {
    if (!isMissing(error, name)) throw error
  }
  let path: string | undefined
  try {
    path = createRequire(join(cwd, 'package.json')).resolve(name)
  } catch (error) {
    if (!isMissing(error, name)) throw error
  }
  if (path !== undefined) return (await import(pathToFileURL(path).href)) as T
  throw new CliError(`This store needs the package ${name}, which is not installed: npm install ${name} (or pnpm add / yarn add ${name})`)
}

type SqliteModule = typeof import('@do-sdk/store-sqlite')
type RedisModule = typeof import('@do-sdk/store-redis')
type PostgresModule = typeof import('@do-sdk/store-postgres')

/** A store factory refusing its options (a namespace of the wrong form) is a usage error. */
const build = (make: () => Datastore): Datastore => {
  try {
    return make()
  } catch (error) {
    if (DoSdkError.hasCode(error, 'ERR_INVALID_ARGUMENT')) throw new UsageError(messageOf(error))
    throw error
  }
}

/**
 * Opens the store `spec` names, loading its package. The CLI only reads and writes records: the
 * stores' expiry sweepers are off, a SQLite file must exist already (a typo would otherwise create
 * an empty one), and a PostgreSQL schema is never created or migrated from here.
 */
export const openStore = async (spec: StoreSpec, options: OpenStoreOptions = {}): Promise<Datastore> => {
  const cwd = options.cwd ?? process.cwd()
  const { namespace, schema } = options
  if (schema !== undefined && spec.kind !== 'postgres') throw new UsageError('--schema applies to postgres:// stores only')
  switch (spec.kind) {
    case 'sqlite': {
      if (!existsSync(spec.path)) throw new CliError(`No SQLite database at ${spec.path} (check the path of --store)`)
      const { sqliteStore } = await importPeer<SqliteModule>(STORE_PACKAGES.sqlite, cwd)
      return build(() => sqliteStore({ path: spec.path, namespace, sweepIntervalMs: 0 }))
    }
    case 'redis': {
      const { redisStore } = await importPeer<RedisModule>(STORE_PACKAGES.redis, cwd)
      return build(() => redisStore({ url: spec.url }, { namespace, sweepIntervalMs: 0 }))
    }
    case 'postgres': {
      const { postgresStore } = await importPeer<PostgresModule>(STORE_PACKAGES.postgres, cwd)
      return build(() =>
        postgresStore({ connectionString: spec.connectionString, poolSize: 2 }, { schema, namespace, migrate: false, sweepIntervalMs: 0 }),
      )
    }
  }
}
