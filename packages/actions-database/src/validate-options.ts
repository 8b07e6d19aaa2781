import { InvalidArgumentError } from '@do-sdk/core'
import { z } from 'zod'
import type { Dialect } from './errors.js'
import { identifier } from './identifiers.js'
import { refusingProtoKeys } from './keys.js'
import type { DatabaseActionsOptions } from './options.js'

const tables = z.union([
  z.array(identifier).min(1, 'list at least one table'),
  z.record(identifier, z.array(identifier).min(1, 'list at least one column')),
])

const common = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._\-:@/]{0,63}$/, 'use 1-64 letters, digits and . _ - : @ /')
    .optional(),
  tables: tables.optional(),
  allowRawQuery: z.boolean().optional(),
  maxRows: z.number().int().min(1).max(1_000_000).optional(),
  schema: identifier.optional(),
  // Checked by action.create, which names the bad value itself.
  retry: z.unknown().optional(),
  timeout: z.unknown().optional(),
}

const poolObject = z.record(z.string(), z.unknown())

/**
 * mysql2 reads options from the query string of a `uri` and lets them override the pool options (the
 * pack's forced ones included), so the settings the pack depends on are refused there too. A `uri`
 * inside `pool` would do the same behind the pack's back: give it as the `uri` option.
 */
const MYSQL_UNSAFE: Record<string, (value: string) => boolean> = {
  stringifyObjects: (v) => v.trim() !== 'true',
  multipleStatements: (v) => v.trim() !== 'false',
  namedPlaceholders: (v) => v.trim() !== 'false',
  flags: (v) => /-\s*FOUND_ROWS/i.test(v),
}
const mysqlUriProblem = (uri: string): string | undefined => {
  let params: URLSearchParams
  try {
    params = new URL(uri).searchParams
  } catch {
    return undefined // reported by the URL check
  }
  for (const [key, value] of params) {
    if (Object.hasOwn(MYSQL_UNSAFE, key) && MYSQL_UNSAFE[key]?.(value)) {
      return `must not set ${key}=${key === 'flags' ? '-FOUND_ROWS' : value} in its query string (the pack relies on the opposite; value not shown otherwise)`
    }
  }
  return undefined
}

// The URL is parsed here, where a failure can be reported without echoing it: Node's URL errors carry
// the whole input (password included) in `input`.
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol)
      } catch {
        return false
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')} (value not shown: it may hold a password)`,
  )

const schemas = {
  sqlite: z.object({
    ...common,
    dialect: z.literal('sqlite'),
    path: z.string().min(1, 'needs a file path or ":memory:"'),
    readonly: z.boolean().optional(),
    busyTimeoutMs: z.number().int().min(0).optional(),
  }),
  postgres: z.object({
    ...common,
    dialect: z.literal('postgres'),
    connectionString: url(['postgres:', 'postgresql:']).optional(),
    pool: poolObject.optional(),
  }),
  mysql: z.object({
    ...common,
    dialect: z.literal('mysql'),
    uri: url(['mysql:'])
      .superRefine((uri, ctx) => {
        const problem = mysqlUriProblem(uri)
        if (problem) ctx.addIssue({ code: 'custom', message: problem })
      })
      .optional(),
    pool: poolObject
      .refine((p) => p.stringifyObjects !== false, { message: 'must not be false', path: ['stringifyObjects'] })
      .refine((p) => p.multipleStatements !== true, { message: 'must not be true', path: ['multipleStatements'] })
      .refine((p) => p.namedPlaceholders !== true, { message: 'must not be true', path: ['namedPlaceholders'] })
      .refine((p) => !/-\s*FOUND_ROWS/i.test(String(p.flags ?? '')), {
        message: 'must not remove FOUND_ROWS (affected counts matched rows)',
        path: ['flags'],
      })
      .refine((p) => p.uri === undefined, { message: 'give the URI as the uri option, not inside pool', path: ['uri'] })
      .optional(),
  }),
}

const kysely = z.object({
  ...common,
  dialect: z.enum(['sqlite', 'postgres', 'mysql']),
  db: z.custom<object>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>).executeQuery === 'function',
    'must be a Kysely instance',
  ),
})

const fail = (option: string, message: string): never => {
  throw new InvalidArgumentError(`[do-sdk] [database] Invalid option "${option}": ${message}`)
}

/** Checks the options at setup; a bad one throws an `InvalidArgumentError` naming it (never echoing a secret). */
export const validateOptions = (options: DatabaseActionsOptions): DatabaseActionsOptions => {
  if (typeof options !== 'object' || options === null) fail('options', 'databaseActions needs an options object')
  const dialect = (options as { dialect?: unknown }).dialect
  const schema = 'db' in options ? kysely : schemas[dialect as Dialect]
  if (!schema) return fail('dialect', `must be "sqlite", "postgres" or "mysql"`)
  const result = refusingProtoKeys(schema.strict()).safeParse(options)
  if (!result.success) {
    const issue = result.error.issues[0]
    const option = issue.code === 'unrecognized_keys' ? issue.keys.join('", "') : issue.path.join('.')
    fail(option || 'options', issue.code === 'unrecognized_keys' ? 'unknown option' : issue.message)
  }
  if (
    dialect === 'postgres' &&
    !('db' in options) &&
    !(options as { connectionString?: unknown }).connectionString &&
    !(options as { pool?: unknown }).pool
  ) {
    fail('connectionString', 'give connectionString or pool')
  }
  if (dialect === 'mysql' && !('db' in options) && !(options as { uri?: unknown }).uri && !(options as { pool?: unknown }).pool) {
    fail('uri', 'give uri or pool')
  }
  return options
}

const decodings = (pw: string): string[] => {
  try {
    const decoded = decodeURIComponent(pw)
    return [decoded, encodeURIComponent(decoded)]
  } catch {
    return []
  }
}

/** Every string that must never appear in an error: the URL, its password (raw and encoded), the pool password. */
export const secretsOf = (options: DatabaseActionsOptions): string[] => {
  const found: string[] = []
  const o = options as { connectionString?: string; uri?: string; pool?: { password?: unknown } }
  for (const value of [o.connectionString, o.uri]) {
    if (!value) continue
    found.push(value)
    const parsed = new URL(value)
    for (const pw of [parsed.password, parsed.searchParams.get('password') ?? '']) {
      if (pw) found.push(pw, ...decodings(pw))
    }
  }
  if (typeof o.pool?.password === 'string' && o.pool.password) found.push(o.pool.password)
  // Longest first, so that a password inside the URL does not leave the rest of the URL behind.
  return [...new Set(found)].sort((a, b) => b.length - a.length)
}
