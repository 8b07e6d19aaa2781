import { inspect } from 'node:util'
import { InvalidArgumentError } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { type DatabaseActionsOptions, databaseActions } from '../src/index.js'

const invalid = (options: unknown): InvalidArgumentError => {
  try {
    databaseActions(options as DatabaseActionsOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError)
    return error as InvalidArgumentError
  }
  throw new Error('expected an InvalidArgumentError')
}

describe('databaseActions options', () => {
  it.each([
    [{}, 'dialect'],
    [{ dialect: 'oracle' }, 'dialect'],
    [{ dialect: 'sqlite' }, 'path'],
    [{ dialect: 'sqlite', path: '' }, 'path'],
    [{ dialect: 'sqlite', path: 'a.db', busyTimeoutMs: -1 }, 'busyTimeoutMs'],
    [{ dialect: 'sqlite', path: 'a.db', pathh: 'typo' }, 'pathh'],
    [{ dialect: 'sqlite', path: 'a.db', maxRows: 0 }, 'maxRows'],
    [{ dialect: 'sqlite', path: 'a.db', name: 'has space' }, 'name'],
    [{ dialect: 'sqlite', path: 'a.db', tables: [] }, 'tables'],
    [{ dialect: 'sqlite', path: 'a.db', tables: ['ok', 'bad.name'] }, 'tables.1'],
    [{ dialect: 'sqlite', path: 'a.db', tables: { users: ['id', 'x?'] } }, 'tables.users.1'],
    [{ dialect: 'sqlite', path: 'a.db', schema: 'a?b' }, 'schema'],
    [{ dialect: 'postgres' }, 'connectionString'],
    [{ dialect: 'postgres', connectionString: 'mysql://u:p@h/db' }, 'connectionString'],
    [{ dialect: 'mysql' }, 'uri'],
    [{ dialect: 'mysql', uri: 'mysql://h/db', pool: { multipleStatements: true } }, 'pool.multipleStatements'],
    [{ dialect: 'mysql', pool: { stringifyObjects: false } }, 'pool.stringifyObjects'],
    [{ dialect: 'mysql', pool: { namedPlaceholders: true } }, 'pool.namedPlaceholders'],
    [{ dialect: 'postgres', db: {} }, 'db'],
    // docs/packs/database.md: "`databaseActions(options)` checks its options at once (a bad one throws an `InvalidArgumentError` naming it)"
  ])('refuses %j, naming "%s"', (options, option) => {
    expect(invalid(options).message).toContain(`"${option}"`)
  })

  // docs/packs/database.md: "A connection string that does not parse is reported without echoing it"
  it('never echoes a connection string it cannot parse (it may hold a password)', () => {
    const err = invalid({ dialect: 'postgres', connectionString: 'postgres://app:s3cr3t-pw@db:notaport/app' })
    expect(`${inspect(err, { depth: 8 })}${err.stack}`).not.toContain('s3cr3t-pw')
    const my = invalid({ dialect: 'mysql', uri: 'mysql://app:s3cr3t-pw@[::1' })
    expect(`${inspect(my, { depth: 8 })}${my.stack}`).not.toContain('s3cr3t-pw')
  })

  // docs/packs/database.md: "opens no connection until the first query"
  it('opens nothing at setup and names the actions after the name option', async () => {
    const db = databaseActions({ dialect: 'postgres', connectionString: 'postgres://u:p@127.0.0.1:1/db', name: 'billing-db' })
    expect([db.insert, db.update, db.upsert, db.delete, db.select, db.query].map((a) => a.id)).toEqual([
      'billing-db.insert',
      'billing-db.update',
      'billing-db.upsert',
      'billing-db.delete',
      'billing-db.select',
      'billing-db.query',
    ])
    expect(db.plugin.name).toBe('@do-sdk/actions-database:billing-db')
    const ids: string[] = []
    await db.plugin.setup({ registerAction: (a: { id: string }) => ids.push(a.id) } as never)
    expect(ids).toHaveLength(6)
    await db.close()
  })

  // docs/packs/database.md: "The list also shows up as an `enum` in the actions' JSON Schema"
  it('describes the allow-list in the input JSON Schema (for catalogs and LLM tools)', () => {
    const db = databaseActions({ dialect: 'sqlite', path: ':memory:', tables: ['users', 'orders'] })
    const schema = db.select.describe().inputSchema as { properties: { table: { enum: string[] } } }
    expect(schema.properties.table.enum).toEqual(['users', 'orders'])
    // docs/packs/database.md: "`retry` | `{ retries: 3, factor: 2, minTimeout: 100, randomize: true }`"
    expect(db.insert.describe().retry).toMatchObject({ retries: 3, factor: 2, minTimeout: 100, randomize: true })
  })

  // docs/packs/database.md: "passing the opposite is refused, in `pool` and in the query string of `uri`, which mysql2 lets override the pool options"
  it('refuses the opposite in the uri query string too (mysql2 lets it override the pool options), and a uri inside pool', () => {
    for (const [query, key] of [
      ['multipleStatements=true', 'multipleStatements'],
      ['stringifyObjects=false', 'stringifyObjects'],
      ['namedPlaceholders=true', 'namedPlaceholders'],
      ['flags=-FOUND_ROWS', 'flags'],
      ['charset=utf8mb4&flags=%2BCOMPRESS,-FOUND_ROWS', 'flags'],
    ]) {
      const err = invalid({ dialect: 'mysql', uri: `mysql://app:s3cr3t@127.0.0.1:3306/app?${query}` })
      expect(err.message).toContain('"uri"')
      expect(err.message).toContain(`must not set ${key}=`)
      expect(err.message).not.toContain('s3cr3t')
    }
    expect(invalid({ dialect: 'mysql', pool: { uri: 'mysql://h/db?multipleStatements=true' } }).message).toContain('"pool.uri"')
    expect(invalid({ dialect: 'mysql', uri: 'mysql://h/db', pool: { flags: ['-FOUND_ROWS'] } }).message).toContain('"pool.flags"')
    // The safe values are accepted.
    const ok = databaseActions({ dialect: 'mysql', uri: 'mysql://h/db?multipleStatements=false&charset=utf8mb4&flags=%2BCOMPRESS' })
    expect(ok.insert.id).toBe('database.insert')
  })

  // docs/packs/database.md: "An own `__proto__` key anywhere in the input is refused"
  it('refuses an own __proto__ key in the options (an allow-list entry or a pool option would vanish)', () => {
    const proto = (rest: object) => Object.assign(JSON.parse('{"__proto__": ["id"]}'), rest)
    expect(invalid({ dialect: 'sqlite', path: ':memory:', tables: proto({ users: ['email'] }) }).message).toContain('"tables.__proto__"')
    expect(invalid({ dialect: 'postgres', pool: proto({ host: 'h' }) }).message).toContain('"pool.__proto__"')
    expect(invalid({ dialect: 'sqlite', path: ':memory:', tables: ['users', '__proto__'] }).message).toContain('"tables.1"')
  })
})
