import { NonRetryableError, ValidationError } from '@do-sdk/core'
import { expect, it } from 'vitest'
import { databaseActions } from '../../src/index.js'
import { HOSTILE_COLUMN, HOSTILE_TABLE, quoter, rejection, type SuiteContext } from './context.js'

/** Strings that break out of a badly escaped literal in at least one dialect. */
const INJECTIONS = [
  "'; DROP TABLE x; --",
  "\\'; DROP TABLE x; --",
  '" OR "1"="1',
  "' OR '1'='1",
  '`; DROP TABLE x; --',
  '$1 $$ :name ? ?? ::text',
  'back\\slash \\\\ \\n',
  'quote\'s "double" `tick`',
  'ünïcødé 🚀 日本',
]

/** Hostile identifiers and values: refused, or quoted and bound so that they do nothing. */
export const safetyTests = (t: SuiteContext) => {
  const xExists = async () => expect(await t.harness.exec('SELECT * FROM x')).toEqual([])

  // docs/packs/database.md: "With `tables`, names outside the list are refused before any SQL."
  it('refuses a hostile table name that is not in the allow-list, before any SQL runs', async () => {
    const limited = databaseActions({ ...t.harness.options, tables: ['users'] })
    try {
      const err = await rejection(limited.insert.execute({ table: HOSTILE_TABLE, values: { n: 1 } }))
      expect(err).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path).toEqual(['table'])
      expect(await rejection(limited.select.execute({ table: 'x' }))).toBeInstanceOf(ValidationError)
      expect((await limited.select.execute({ table: 'users' })).rows).toEqual([])
    } finally {
      await limited.close()
    }
    expect(await t.harness.exec(`SELECT * FROM ${quoter(t.harness.dialect)(HOSTILE_TABLE)}`)).toEqual([])
    await xExists()
  })

  // docs/packs/database.md: "`{ users: ['id', 'email'] }` to allow only those columns (then `*` in `select`/`returning` means those columns)"
  it('a column allow-list refuses other columns and narrows * to the allowed ones', async () => {
    await t.db.insert.execute({ table: 'users', values: { email: 'a@x', name: 'A', age: 3 } })
    const limited = databaseActions({ ...t.harness.options, tables: { users: ['email', 'name'] } })
    try {
      const err = await rejection(limited.select.execute({ table: 'users', where: { age: 3 } }))
      expect(err.issues[0].path).toEqual(['where', 'age'])
      expect(await rejection(limited.update.execute({ table: 'users', set: { age: 4 }, where: { email: 'a@x' } }))).toBeInstanceOf(
        ValidationError,
      )
      expect((await limited.select.execute({ table: 'users' })).rows).toEqual([{ email: 'a@x', name: 'A' }])
    } finally {
      await limited.close()
    }
  })

  // docs/packs/database.md: "A table named `users"; DROP TABLE x; --` is just a strange table name."
  it('quotes a hostile table and column name (no allow-list): the statements work on that table, x survives', async () => {
    const table = HOSTILE_TABLE
    const col = HOSTILE_COLUMN
    expect(
      await t.db.insert.execute({
        table,
        rows: [
          { [col]: 'one', n: 1 },
          { [col]: 'two', n: 2 },
        ],
      }),
    ).toMatchObject({ affected: 2 })
    expect(await t.db.update.execute({ table, set: { n: 3 }, where: { [col]: 'two' } })).toMatchObject({ affected: 1 })
    const { rows } = await t.db.select.execute({ table, columns: [col, 'n'], where: { [col]: { in: ['one', 'two'] } }, orderBy: [col] })
    expect(rows).toEqual([
      { [col]: 'one', n: 1 },
      { [col]: 'two', n: 3 },
    ])
    expect(await t.db.delete.execute({ table, where: { n: { gt: 0 } } })).toMatchObject({ affected: 2 })
    await xExists()
    expect(await t.harness.exec('SELECT * FROM users')).toEqual([])
  })

  // docs/packs/database.md: "Identifiers may not contain `?` for the same reason."
  it('refuses identifiers with a dot, a "?", a control character or more than 64 characters', async () => {
    for (const table of ['public.users', 'users?', 'us\u0000ers', 'a'.repeat(65), '']) {
      const err = await rejection(t.db.select.execute({ table }))
      expect(err).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path).toEqual(['table'])
    }
  })

  // docs/packs/database.md: "tables and columns reach Kysely as single identifier nodes (no splitting on `.` or ` as `)"
  it('quotes a column name that looks like SQL: the database finds no such column', async () => {
    const err = await rejection(t.db.insert.execute({ table: 'users', values: { email: 'a@x', "name = 'x'; --": 'x' } }))
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toContain("name = 'x'; --")
    expect(await t.harness.exec('SELECT * FROM users')).toEqual([])
  })

  // docs/packs/database.md: "**Values** are always bound."
  it('stores injection attempts in values verbatim and matches them exactly in where', async () => {
    const rows = INJECTIONS.map((name, i) => ({ email: `u${i}@x`, name }))
    await t.db.insert.execute({ table: 'users', rows })
    const stored = await t.harness.exec('SELECT email, name FROM users')
    expect(stored.sort((a, b) => String(a.email).localeCompare(String(b.email), 'en', { numeric: true }))).toEqual(rows)
    for (const [i, name] of INJECTIONS.entries()) {
      const found = await t.db.select.execute({ table: 'users', columns: ['email'], where: { name } })
      expect(found.rows).toEqual([{ email: `u${i}@x` }])
    }
    expect((await t.db.select.execute({ table: 'users', where: { email: "' OR '1'='1" } })).rows).toEqual([])
    await t.db.update.execute({ table: 'users', set: { name: INJECTIONS[0] }, where: { email: 'u1@x' } })
    expect((await t.db.select.execute({ table: 'users', columns: ['name'], where: { email: 'u1@x' } })).rows).toEqual([
      { name: INJECTIONS[0] },
    ])
    await xExists()
  })

  // docs/packs/database.md: "objects and arrays never reach it (mysql2 would expand an object into `key = value` SQL)"
  it('refuses objects and arrays as values (mysql2 would expand them into SQL); nothing is written', async () => {
    const attempts = [
      { values: { email: 'a@x', name: { toString: 'x' } } },
      { values: { email: 'a@x', name: ['a', 'b'] } },
      { values: { email: { email: 1 } } },
      { values: { email: 'a@x', age: Number.NaN } },
    ]
    for (const attempt of attempts) {
      const err = await rejection(t.db.insert.execute({ table: 'users', ...attempt } as never))
      expect(err).toBeInstanceOf(ValidationError)
      expect(err.message).toMatch(/\$json/)
    }
    const err = await rejection(t.db.update.execute({ table: 'users', set: { name: { a: 1 } as never }, where: { id: 1 } }))
    expect(err.issues[0].path).toEqual(['set', 'name'])
    expect(await rejection(t.db.select.execute({ table: 'users', where: { email: { email: 1 } as never } }))).toBeInstanceOf(
      ValidationError,
    )
    expect(await t.harness.exec('SELECT * FROM users')).toEqual([])
  })
}
