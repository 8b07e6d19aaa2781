import { expect, it } from 'vitest'
import type { SuiteContext } from './context.js'

/** The output fields docs/packs/database.md lists for each action: every field it names, no other. */
export const outputTests = (t: SuiteContext) => {
  const dialect = () => t.harness.dialect
  const fields = (out: object) => Object.keys(out).sort()
  const idOf = async (email: string) => Number((await t.harness.exec(`SELECT id FROM users WHERE email = '${email}'`))[0]?.id)

  // docs/packs/database.md: "`insert` | … | `{ rows, affected, insertId?, duplicate }`"
  it('insert: rows, affected, duplicate, and insertId as the dialect reports it (not with returning)', async () => {
    const one = await t.db.insert.execute({ table: 'users', values: { email: 'a@x' } })
    const many = await t.db.insert.execute({ table: 'users', rows: [{ email: 'b@x' }, { email: 'c@x' }] })
    // docs/packs/database.md: "`insertId` is what the dialect reports: MySQL the first row's AUTO_INCREMENT id, SQLite the last row's rowid, PostgreSQL none (use `returning: ['id']`)"
    if (dialect() === 'postgres') {
      expect(one).toStrictEqual({ rows: [], affected: 1, duplicate: false })
      expect(many).toStrictEqual({ rows: [], affected: 2, duplicate: false })
      return
    }
    expect(one).toStrictEqual({ rows: [], affected: 1, insertId: await idOf('a@x'), duplicate: false })
    const expected = dialect() === 'mysql' ? await idOf('b@x') : await idOf('c@x')
    expect(many).toStrictEqual({ rows: [], affected: 2, insertId: expected, duplicate: false })
    if (dialect() === 'sqlite') {
      // With returning, the ids are in rows.
      const returned = await t.db.insert.execute({ table: 'users', values: { email: 'd@x' }, returning: ['id'] })
      expect(returned).toStrictEqual({ rows: [{ id: await idOf('d@x') }], affected: 1, duplicate: false })
    }
  })

  // docs/packs/database.md: "Either way the output is the row (all columns, or `returning`) with `duplicate: false` the first time and `duplicate: true` (and `affected: 0`) on a retried attempt."
  it('idempotent insert: the same fields on the first and the retried attempt, the row in rows, no insertId', async () => {
    const input = { table: 'users', values: { email: 'e@x' }, idempotencyKey: 'request_key' }
    const first = await t.db.insert.attempt(input, { idempotencyKey: 'run:step#1', attempt: 1 })
    const again = await t.db.insert.attempt(input, { idempotencyKey: 'run:step#1', attempt: 2 })
    const row = { id: await idOf('e@x'), email: 'e@x', name: null, age: null, meta: null, request_key: 'run:step#1' }
    expect(first).toStrictEqual({ rows: [row], affected: 1, duplicate: false })
    expect(again).toStrictEqual({ rows: [row], affected: 0, duplicate: true })
  })

  // docs/packs/database.md: "`affected` counts the rows matched (an update that sets a value it already had counts too, on all three dialects)"
  it('update, delete: rows and affected, values unchanged or not', async () => {
    await t.db.insert.execute({
      table: 'users',
      rows: [
        { email: 'a@x', name: 'A' },
        { email: 'b@x', name: 'B' },
      ],
    })
    expect(await t.db.update.execute({ table: 'users', set: { name: 'A' }, where: { email: { in: ['a@x', 'b@x'] } } })).toStrictEqual({
      rows: [],
      affected: 2,
    })
    expect(await t.db.update.execute({ table: 'users', set: { name: 'A' }, where: { email: 'nobody' } })).toStrictEqual({
      rows: [],
      affected: 0,
    })
    expect(await t.db.delete.execute({ table: 'users', where: { email: 'b@x' } })).toStrictEqual({ rows: [], affected: 1 })
  })

  // docs/packs/database.md: "For a MySQL upsert it is MySQL's count: 1 per inserted row, 2 per updated row, 1 per row left as it was"
  it('upsert: affected counts every row matched; an existing row is matched (and returned) even with nothing to update', async () => {
    const upsert = (values: Record<string, string>, update?: string[]) =>
      t.db.upsert.execute({ table: 'users', values, conflict: ['email'], ...(update ? { update } : {}) })
    expect(await upsert({ email: 'f@x', name: 'f' })).toStrictEqual({ rows: [], affected: 1 })
    expect(await upsert({ email: 'f@x', name: 'g' })).toStrictEqual({ rows: [], affected: dialect() === 'mysql' ? 2 : 1 })
    expect(await upsert({ email: 'f@x', name: 'g' })).toStrictEqual({ rows: [], affected: 1 })
    expect(await upsert({ email: 'f@x', name: 'ignored' }, [])).toStrictEqual({ rows: [], affected: 1 })
    expect((await t.harness.exec("SELECT name FROM users WHERE email = 'f@x'"))[0]?.name).toBe('g')
    if (dialect() !== 'mysql') {
      const returned = await t.db.upsert.execute({ table: 'users', values: { email: 'f@x' }, conflict: ['email'], returning: ['name'] })
      expect(returned).toStrictEqual({ rows: [{ name: 'g' }], affected: 1 })
    }
  })

  // docs/packs/database.md: "`select` | … | `{ rows }`"
  it('select: rows only', async () => {
    await t.db.insert.execute({ table: 'users', values: { email: 'a@x' } })
    expect(fields(await t.db.select.execute({ table: 'users', columns: ['email'] }))).toEqual(['rows'])
  })

  // docs/packs/database.md: "`query` | `sql` (one statement), `params?` | `{ rows, affected?, insertId? }`"
  it('query: affected for writes, insertId only for an INSERT or REPLACE that wrote rows', async () => {
    expect(await t.db.query.execute({ sql: 'SELECT 1 AS one' })).toStrictEqual({ rows: [{ one: 1 }] })
    const inserted = await t.db.query.execute({ sql: "INSERT INTO users (email) VALUES ('q@x')" })
    if (dialect() === 'postgres') expect(inserted).toStrictEqual({ rows: [], affected: 1 })
    else expect(inserted).toStrictEqual({ rows: [], affected: 1, insertId: await idOf('q@x') })
    // The connection still holds that id: an UPDATE after it must not report it (SQLite did).
    const updated = await t.db.query.execute({ sql: "/* hostile */ UPDATE users SET name = 'z' WHERE email = 'q@x'" })
    expect(updated).toStrictEqual({ rows: [], affected: 1 })
    expect(await t.db.query.execute({ sql: "DELETE FROM users WHERE email = 'nobody'" })).toStrictEqual({ rows: [], affected: 0 })
    if (dialect() !== 'postgres') {
      const replaced = await t.db.query.execute({ sql: "REPLACE INTO users (email, name) VALUES ('r@x', 'r')" })
      expect(replaced).toStrictEqual({ rows: [], affected: 1, insertId: await idOf('r@x') })
    }
  })
}
