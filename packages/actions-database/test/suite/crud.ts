import { ValidationError } from '@do-sdk/core'
import { expect, it } from 'vitest'
import { rejection, type SuiteContext } from './context.js'

const alice = { email: 'alice@example.com', name: 'Alice', age: 30 }
const bob = { email: 'bob@example.com', name: 'Bob', age: 17 }
const carol = { email: 'carol@example.com', name: 'Carol', age: 45 }

/** insert, update, upsert, delete, select and their where operators. */
export const crudTests = (t: SuiteContext) => {
  const users = async () => (await t.harness.exec('SELECT email, name, age FROM users ORDER BY email')) as Record<string, unknown>[]
  const seed = () => t.db.insert.execute({ table: 'users', rows: [alice, bob, carol] })

  // docs/packs/database.md: "`insertId` is what the dialect reports"
  it('inserts one row and reads it back; SQLite and MySQL report the generated id', async () => {
    const out = await t.db.insert.execute({ table: 'users', values: alice })
    expect(out).toMatchObject({ affected: 1, rows: [], duplicate: false })
    const stored = await t.harness.exec('SELECT id, email, name, age FROM users')
    expect(stored).toEqual([{ id: expect.anything(), ...alice }])
    if (t.harness.dialect === 'postgres') expect(out.insertId).toBeUndefined()
    else expect(out.insertId).toBe(stored[0].id)
  })

  // docs/packs/database.md: "`values` (one row) or `rows` (same columns each, ≤ 1000)"
  it('inserts several rows in one statement', async () => {
    expect(await seed()).toMatchObject({ affected: 3 })
    expect(await users()).toEqual([alice, bob, carol])
  })

  // docs/packs/database.md: "a bad input fails with a `ValidationError` (path included) and nothing is written"
  it('refuses rows with different columns and a row with none, writing nothing', async () => {
    const err = await rejection(t.db.insert.execute({ table: 'users', rows: [alice, { email: 'x@example.com' }] }))
    expect(err).toBeInstanceOf(ValidationError)
    expect(err.issues[0].path).toEqual(['rows', 1])
    expect(await rejection(t.db.insert.execute({ table: 'users', values: {} }))).toBeInstanceOf(ValidationError)
    expect(await users()).toEqual([])
  })

  // docs/packs/database.md: "A **where** is an object of column conditions, all ANDed"
  it('updates the matching rows only and counts them', async () => {
    await seed()
    const out = await t.db.update.execute({ table: 'users', set: { name: 'Adult' }, where: { age: { gte: 18 } } })
    expect(out).toEqual({ affected: 2, rows: [] })
    expect((await users()).map((u) => u.name)).toEqual(['Adult', 'Bob', 'Adult'])
  })

  // docs/packs/database.md: "an update that sets a value it already had counts too, on all three dialects"
  it('counts matched rows, also when the value does not change', async () => {
    await seed()
    expect(await t.db.update.execute({ table: 'users', set: { name: 'Bob' }, where: { email: bob.email } })).toMatchObject({ affected: 1 })
  })

  // docs/packs/database.md: "`update` and `delete` without a `where` are refused unless `allRows: true` (alias `allowAll: true`)"
  it('refuses an update or delete without where unless allRows is true', async () => {
    await seed()
    const err = await rejection(t.db.update.execute({ table: 'users', set: { name: 'Nobody' } }))
    expect(err).toBeInstanceOf(ValidationError)
    expect(await rejection(t.db.delete.execute({ table: 'users', where: {} }))).toBeInstanceOf(ValidationError)
    expect((await users()).map((u) => u.name)).toEqual(['Alice', 'Bob', 'Carol'])
    expect(await t.db.update.execute({ table: 'users', set: { age: 1 }, allRows: true })).toMatchObject({ affected: 3 })
    expect(await t.db.update.execute({ table: 'users', set: { age: 2 }, allowAll: true })).toMatchObject({ affected: 3 })
    expect(await t.db.delete.execute({ table: 'users', allowAll: true })).toMatchObject({ affected: 3 })
    expect(await users()).toEqual([])
  })

  // docs/packs/database.md: "`delete` | `table`, `where` (or `allRows: true`), `returning?` | `{ rows, affected }`"
  it('deletes the matching rows', async () => {
    await seed()
    expect(await t.db.delete.execute({ table: 'users', where: { email: { in: [alice.email, carol.email] } } })).toEqual({
      affected: 2,
      rows: [],
    })
    expect(await users()).toEqual([bob])
  })

  // docs/packs/database.md: "`orderBy?` (`['name', { column: 'age', direction: 'desc' }]`), `limit?` (≤ `maxRows`), `offset?`"
  it('selects columns, ordered and paged', async () => {
    await seed()
    const page = await t.db.select.execute({ table: 'users', columns: ['name'], orderBy: [{ column: 'age', direction: 'desc' }], limit: 2 })
    expect(page.rows).toEqual([{ name: 'Carol' }, { name: 'Alice' }])
    const next = await t.db.select.execute({ table: 'users', columns: ['name'], orderBy: ['age'], offset: 2 })
    expect(next.rows).toEqual([{ name: 'Carol' }])
    const all = await t.db.select.execute({ table: 'users', where: { email: bob.email } })
    expect(all.rows).toEqual([{ id: expect.anything(), ...bob, meta: null, request_key: null }])
  })

  // docs/packs/database.md: "`in` (an empty list matches nothing), `notIn` (an empty list matches everything), `like`, `isNull` (`true`/`false`)"
  it('applies every where operator, values bound', async () => {
    await seed()
    await t.db.insert.execute({ table: 'users', values: { email: 'dan@example.com', name: null, age: null } })
    const names = async (where: Record<string, unknown>) =>
      (await t.db.select.execute({ table: 'users', columns: ['email'], where: where as never, orderBy: ['email'] })).rows.map((r) =>
        String(r.email).slice(0, 3),
      )
    expect(await names({ age: { gt: 17 } })).toEqual(['ali', 'car'])
    expect(await names({ age: { gte: 17, lt: 45 } })).toEqual(['ali', 'bob'])
    expect(await names({ age: { lte: 17 } })).toEqual(['bob'])
    expect(await names({ age: { ne: 30 } })).toEqual(['bob', 'car'])
    expect(await names({ age: { eq: 30 } })).toEqual(['ali'])
    expect(await names({ name: { in: ['Bob', 'Carol'] } })).toEqual(['bob', 'car'])
    expect(await names({ name: { notIn: ['Bob', 'Carol'] } })).toEqual(['ali'])
    expect(await names({ name: { in: [] } })).toEqual([])
    expect(await names({ name: { notIn: [] }, age: { isNull: false } })).toEqual(['ali', 'bob', 'car'])
    expect(await names({ email: { like: 'c%' } })).toEqual(['car'])
    expect(await names({ name: null })).toEqual(['dan'])
    expect(await names({ name: { isNull: true } })).toEqual(['dan'])
    expect(await names({ name: { eq: null } })).toEqual(['dan'])
    expect(await names({ name: 'Alice', age: 30 })).toEqual(['ali'])
    expect(await names({ name: 'Alice', age: 31 })).toEqual([])
  })

  // docs/packs/database.md: "or an object of operators, also ANDed"
  it('refuses an unknown operator or an empty operator object', async () => {
    for (const where of [{ age: { between: [1, 2] } }, { age: {} }, { age: { gt: { a: 1 } } }]) {
      const err = await rejection(t.db.select.execute({ table: 'users', where: where as never }))
      expect(err).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path.slice(0, 2)).toEqual(['where', 'age'])
    }
  })

  // docs/packs/database.md: "`ON CONFLICT (conflict) DO UPDATE SET col = excluded.col`"
  it('upserts: inserts new rows and updates the one that conflicts', async () => {
    await t.db.insert.execute({ table: 'users', values: alice })
    const out = await t.db.upsert.execute({
      table: 'users',
      rows: [
        { ...alice, name: 'Alice B.', age: 31 },
        { ...bob, age: 18 },
      ],
      conflict: ['email'],
    })
    expect(out.affected).toBeGreaterThanOrEqual(2)
    expect(await users()).toEqual([
      { ...alice, name: 'Alice B.', age: 31 },
      { ...bob, age: 18 },
    ])
  })

  // docs/packs/database.md: "`update?` (columns overwritten on conflict; default: every column of the row but `conflict`)"
  it('upsert updates only the columns listed in update', async () => {
    await t.db.insert.execute({ table: 'users', values: alice })
    await t.db.upsert.execute({ table: 'users', values: { ...alice, name: 'Changed', age: 99 }, conflict: ['email'], update: ['age'] })
    expect(await users()).toEqual([{ ...alice, age: 99 }])
    const err = await rejection(t.db.upsert.execute({ table: 'users', values: alice, conflict: ['email'], update: ['meta'] }))
    expect(err.issues[0].path).toEqual(['update', 0])
  })

  // docs/packs/database.md: "wrapped as `{ $json: value }`, which stores `JSON.stringify(value)` as text"
  it('stores { $json } values as JSON text', async () => {
    const meta = { tags: ['a', 'b'], nested: { n: 1, quote: "it's" } }
    await t.db.insert.execute({ table: 'users', values: { ...alice, meta: { $json: meta } } })
    const [row] = await t.harness.exec('SELECT meta FROM users')
    expect(JSON.parse(String(row.meta))).toEqual(meta)
  })

  // docs/packs/database.md: "MySQL has no RETURNING: there it is refused"
  it('returns rows with returning where the dialect has RETURNING, refuses it on MySQL', async () => {
    const insert = t.db.insert.execute({ table: 'users', values: alice, returning: ['email', 'age'] })
    if (t.harness.dialect === 'mysql') {
      const err = await rejection(insert)
      expect(err).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path).toEqual(['returning'])
      expect(await users()).toEqual([])
      return
    }
    expect((await insert).rows).toEqual([{ email: alice.email, age: 30 }])
    const updated = await t.db.update.execute({ table: 'users', set: { age: 32 }, where: { email: alice.email }, returning: '*' })
    expect(updated).toEqual({ affected: 1, rows: [{ id: expect.anything(), ...alice, age: 32, meta: null, request_key: null }] })
    const upserted = await t.db.upsert.execute({ table: 'users', values: { ...alice, age: 33 }, conflict: ['email'], returning: ['age'] })
    expect(upserted).toEqual({ affected: 1, rows: [{ age: 33 }] })
    const deleted = await t.db.delete.execute({ table: 'users', where: { email: alice.email }, returning: ['name'] })
    expect(deleted).toEqual({ affected: 1, rows: [{ name: 'Alice' }] })
  })
}
