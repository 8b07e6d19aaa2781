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
  ])('refuses %j, naming "%s"', (options, option) => {
    expect(invalid(options).message).toContain(`"${option}"`)
  })

  it('never echoes a connection string it cannot parse (it may hold a password)', () => {
    const err = invalid({ dialect: 'postgres', connectionString: 'postgres://app:s3cr3t-pw@db:notaport/app' })
    expect(`${inspect(err, { depth: 8 })}${err.stack}`).not.toContain('s3cr3t-pw')
    const my = invalid({ dialect: 'mysql', uri: 'mysql://app:s3cr3t-pw@[::1' })
    expect(`${inspect(my, { depth: 8 })}${my.stack}`).not.toContain('s3cr3t-pw')
  })

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

  it('describes the allow-list in the input JSON Schema (for catalogs and LLM tools)', () => {
    const db = databaseActions({ dialect: 'sqlite', path: ':memory:', tables: ['users', 'orders'] })
    const schema = db.select.describe().inputSchema as { properties: { table: { enum: string[] } } }
    expect(schema.properties.table.enum).toEqual(['users', 'orders'])
  })
})
