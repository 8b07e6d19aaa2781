import { InvalidArgumentError, NonRetryableError, ValidationError } from '@do-sdk/core'
import { expect, it } from 'vitest'
import { databaseActions } from '../../src/index.js'
import { quoter, rejection, type SuiteContext } from './context.js'

/** The promises of docs/packs/database.md tried with hostile input, on every dialect. */
export const hostileTests = (t: SuiteContext) => {
  const q = (name: string) => quoter(t.harness.dialect)(name)
  const users = () => t.harness.exec('SELECT email, name FROM users ORDER BY email')
  const xSurvives = async () => expect(await t.harness.exec('SELECT * FROM x')).toEqual([])
  const proto = (value: unknown, rest: Record<string, unknown> = {}) =>
    Object.assign(JSON.parse(`{"__proto__": ${JSON.stringify(value)}}`), rest) as Record<string, never>

  // docs/packs/database.md: "An own `__proto__` key anywhere in the input is refused"
  it('refuses an own __proto__ key in values, rows, set, where and params: a where cannot silently lose a condition', async () => {
    await t.db.insert.execute({
      table: 'users',
      rows: [
        { email: 'a@x', name: 'keep' },
        { email: 'b@x', name: 'keep' },
      ],
    })
    const attempts: [Promise<unknown>, (string | number)[]][] = [
      [t.db.insert.execute({ table: 'users', values: proto('x', { email: 'c@x' }) }), ['values', '__proto__']],
      [t.db.insert.execute({ table: 'users', rows: [{ email: 'c@x' }, proto('x', { email: 'd@x' })] }), ['rows', 1, '__proto__']],
      [t.db.update.execute({ table: 'users', set: proto('x', { name: 'gone' }), where: { email: 'a@x' } }), ['set', '__proto__']],
      // Dropped, this condition would have turned "where email = a@x" into "every row".
      [t.db.update.execute({ table: 'users', set: { name: 'gone' }, where: proto('a@x'), allRows: true }), ['where', '__proto__']],
      [t.db.delete.execute({ table: 'users', where: proto({ in: ['a@x'] }, { name: 'keep' }) }), ['where', '__proto__']],
      [t.db.upsert.execute({ table: 'users', values: proto(1, { email: 'a@x' }), conflict: ['email'] }), ['values', '__proto__']],
      [t.db.select.execute({ table: 'users', where: proto('x') }), ['where', '__proto__']],
      [t.db.query.execute({ sql: 'SELECT :a AS a', params: proto(1, { a: 1 }) }), ['params', '__proto__']],
    ]
    for (const [attempt, path] of attempts) {
      const err = await rejection(attempt)
      expect(err, path.join('.')).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path).toEqual(path)
    }
    expect(await users()).toEqual([
      { email: 'a@x', name: 'keep' },
      { email: 'b@x', name: 'keep' },
    ])
    for (const table of ['__proto__']) expect(await rejection(t.db.select.execute({ table }))).toBeInstanceOf(ValidationError)
    expect(await rejection(t.db.select.execute({ table: 'users', columns: ['__proto__'] }))).toBeInstanceOf(ValidationError)
    // Options too: an allow-list entry named so would vanish from the list.
    const options = { ...t.harness.options, tables: proto(['id'], { users: ['email'] }) }
    expect(() => databaseActions(options)).toThrow(InvalidArgumentError)
    expect(() => databaseActions(options)).toThrow(/"tables.__proto__"/)
  })

  // docs/packs/database.md: "`constructor` and `prototype` are ordinary column names"
  it('constructor, prototype and toString are ordinary column names, quoted, and change no prototype', async () => {
    await t.harness.exec(
      `CREATE TABLE proto_cols (${q('constructor')} VARCHAR(50), ${q('prototype')} VARCHAR(50), ${q('toString')} VARCHAR(50))`,
    )
    try {
      const row = { constructor: 'c', prototype: 'p', toString: 't' }
      await t.db.insert.execute({ table: 'proto_cols', values: row })
      expect(await t.db.update.execute({ table: 'proto_cols', set: { prototype: 'p2' }, where: { constructor: 'c' } })).toMatchObject({
        affected: 1,
      })
      const { rows } = await t.db.select.execute({ table: 'proto_cols', where: { toString: { in: ['t'] } } })
      expect(rows).toEqual([{ constructor: 'c', prototype: 'p2', toString: 't' }])
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype)
      expect(({} as Record<string, unknown>).p2).toBeUndefined()
    } finally {
      await t.harness.exec('DROP TABLE proto_cols')
    }
  })

  // docs/packs/database.md: "Ids past 2^53 are strings, in `insertId` and in `rows`"
  it('reads ids past 2^53 exactly, as strings, in insertId and in rows', async () => {
    const mysql = t.harness.dialect === 'mysql'
    await t.harness.exec(
      `CREATE TABLE big_ids (id ${t.harness.dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'} PRIMARY KEY${mysql ? ' AUTO_INCREMENT' : ''}, label VARCHAR(20))`,
    )
    try {
      const big = '9007199254740993' // 2^53 + 1: no double holds it
      const raw = await t.db.query.execute({ sql: `INSERT INTO big_ids (id, label) VALUES (${big}, 'big')` })
      if (t.harness.dialect !== 'postgres') expect(raw.insertId).toBe(big)
      if (t.harness.dialect !== 'postgres') {
        // The next generated id, one past it.
        expect((await t.db.insert.execute({ table: 'big_ids', values: { label: 'next' } })).insertId).toBe('9007199254740994')
      }
      const { rows } = await t.db.select.execute({ table: 'big_ids', where: { label: 'big' } })
      expect(rows).toEqual([{ id: big, label: 'big' }])
      await t.db.insert.execute({ table: 'big_ids', values: { id: 7, label: 'small' } })
      // A small one is a number, except on PostgreSQL, whose driver gives every bigint as a string.
      const small = await t.db.select.execute({ table: 'big_ids', columns: ['id'], where: { label: 'small' } })
      expect(small.rows).toEqual([{ id: t.harness.dialect === 'postgres' ? '7' : 7 }])
    } finally {
      await t.harness.exec('DROP TABLE big_ids')
    }
  })

  // docs/packs/database.md: "A **value** is a string, a finite number, a boolean, `null` or a `Date`. Objects and arrays are refused, unless wrapped as `{ $json: value }`"
  it('refuses every other value, before any SQL; $json takes any JSON, stored as text', async () => {
    for (const value of [
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      1n,
      Symbol('s'),
      () => 1,
      new Date('nope'),
      Buffer.from('x'),
      { $json: undefined },
      { $json: 1, extra: 2 },
      new Map(),
    ]) {
      const err = await rejection(t.db.insert.execute({ table: 'users', values: { email: 'a@x', name: value as never } }))
      expect(err, String(value?.toString?.())).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path).toEqual(['values', 'name'])
    }
    for (const params of [[{ id: 1 }], [[1, 2]], { a: { toSqlString: () => 'DROP TABLE x' } }] as never[]) {
      expect(await rejection(t.db.query.execute({ sql: 'SELECT 1 AS one', params }))).toBeInstanceOf(ValidationError)
    }
    const meta = { "it's": ['a"b', '\\', null], n: 1 }
    await t.db.insert.execute({ table: 'users', values: { email: 'j@x', meta: { $json: meta } } })
    expect(JSON.parse(String((await t.harness.exec('SELECT meta FROM users'))[0]?.meta))).toEqual(meta)
    await xSurvives()
  })

  // docs/packs/database.md: "`insert` | `table`, `values` (one row) or `rows` (same columns each, ≤ 1000)"
  it('refuses more than 1000 rows in one insert or upsert, writing none', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => ({ email: `u${i}@x` }))
    expect((await rejection(t.db.insert.execute({ table: 'users', rows }))).issues[0].path).toEqual(['rows'])
    expect((await rejection(t.db.upsert.execute({ table: 'users', rows, conflict: ['email'] }))).issues[0].path).toEqual(['rows'])
    expect(await users()).toEqual([])
  })

  // docs/packs/database.md: "A final `;` is fine; a second statement is refused."
  it('refuses a second statement hidden after a comment, a string or a line break', async () => {
    const pg = t.harness.dialect === 'postgres'
    for (const sql of [
      "SELECT ';' AS a; DROP TABLE x",
      'SELECT 1 /* ; */; DROP TABLE x',
      ...(pg ? ['SELECT $$;$$ AS a; DROP TABLE x', "SELECT E'\\';' AS a; DROP TABLE x"] : []),
    ]) {
      const err = await rejection(t.db.query.execute({ sql }))
      expect(err, JSON.stringify(sql)).toBeInstanceOf(ValidationError)
      expect(err.message).toMatch(/more than one statement/)
    }
    // Where a comment ends depends on the dialect: PostgreSQL ends "--" at a bare CR, MySQL starts a
    // comment only at "-- " (so "--x" is not one), SQLite runs to the LF. Each is read as its server reads it.
    const lineBreak = t.db.query.execute({ sql: 'SELECT 1 AS a --x\r; DROP TABLE x' })
    if (t.harness.dialect === 'sqlite') expect((await lineBreak).rows).toEqual([{ a: 1 }])
    else expect((await rejection(lineBreak)).message).toMatch(/more than one statement/)
    if (t.harness.dialect === 'mysql') expect((await t.db.query.execute({ sql: 'SELECT 3--1 AS a' })).rows).toEqual([{ a: 4 }])
    await xSurvives()
  })

  // docs/packs/database.md: "Identifiers (`table`, column names) are 1–64 characters without `.`, `?` or control characters, and not `__proto__`."
  it('refuses identifiers with a dot, a "?", any control character, and quotes every other one', async () => {
    for (const name of ['a.b', 'a?', 'a\nb', 'a\tb', 'a\rb', 'a\u0000', 'a\u001b', 'a\u007f', '']) {
      for (const attempt of [
        t.db.select.execute({ table: name }),
        t.db.select.execute({ table: 'users', columns: [name] }),
        t.db.insert.execute({ table: 'users', values: { [name]: 1 } }),
        t.db.select.execute({ table: 'users', where: { [name]: 1 } }),
        t.db.select.execute({ table: 'users', orderBy: [name] }),
      ]) {
        expect(await rejection(attempt), JSON.stringify(name)).toBeInstanceOf(ValidationError)
      }
    }
    // Quoted, not spliced: these only fail to find a column.
    for (const name of ['email` = 1 OR `1', 'email" = 1 OR "1', "email'; DROP TABLE x; --", 'ünï 日本', '[email]']) {
      expect((await rejection(t.db.select.execute({ table: 'users', where: { [name]: 1 } }))).message).toContain(name.slice(0, 5))
    }
    await xSurvives()
  })

  // docs/packs/database.md: "more fails with a `NonRetryableError` instead of truncating silently (step outputs are stored with the run; a raw write that returns more has still been applied)"
  it('a raw write returning more than maxRows fails, and its rows are written all the same', async () => {
    if (t.harness.dialect === 'mysql') return // no RETURNING
    const small = databaseActions({ ...t.harness.options, maxRows: 1, retry: { retries: 2, minTimeout: 0 } })
    try {
      const err = await rejection(small.query.execute({ sql: "INSERT INTO users (email) VALUES ('m1@x'), ('m2@x') RETURNING email" }))
      expect(err).toBeInstanceOf(NonRetryableError)
      expect(err.message).toMatch(/more than maxRows \(1\)/)
      expect(await users()).toEqual([
        { email: 'm1@x', name: null },
        { email: 'm2@x', name: null },
      ])
    } finally {
      await small.close()
    }
  })
}
