import { NonRetryableError, ValidationError } from '@do-sdk/core'
import { expect, it } from 'vitest'
import { databaseActions } from '../../src/index.js'
import { rejection, type SuiteContext } from './context.js'

const INJECTION = "'; DROP TABLE x; --"

/** The `query` action: one statement, parameters bound. */
export const queryTests = (t: SuiteContext) => {
  const xExists = async () => expect(await t.harness.exec('SELECT * FROM x')).toEqual([])

  // docs/packs/database.md: "with an array, `$1`, `$2`… (a number may repeat) or, when there is no `$n`, each `?` in order"
  it('binds positional ? parameters, never interpolating them', async () => {
    const out = await t.db.query.execute({ sql: 'SELECT ? AS a, ? AS b', params: [INJECTION, "\\' OR 1=1 --"] })
    expect(out.rows).toEqual([{ a: INJECTION, b: "\\' OR 1=1 --" }])
    await xExists()
  })

  // docs/packs/database.md: "`$1`, `$2`… (a number may repeat)"
  it('binds $n parameters, one value used twice', async () => {
    await t.db.insert.execute({
      table: 'users',
      rows: [
        { email: 'a@x', name: 'A' },
        { email: 'b@x', name: 'B' },
      ],
    })
    const out = await t.db.query.execute({
      sql: 'SELECT email FROM users WHERE email = $1 OR name = $2 OR email = $1',
      params: ['a@x', 'B'],
    })
    expect(out.rows.map((r) => r.email).sort()).toEqual(['a@x', 'b@x'])
  })

  // docs/packs/database.md: "with an object, `:name`. Placeholders inside strings, quoted identifiers, comments and PostgreSQL dollar-quoted bodies are text"
  it('binds :name parameters; placeholders inside literals and comments stay text', async () => {
    const out = await t.db.query.execute({
      sql: "SELECT ':a' AS lit, :a AS val /* :b */ -- :b\n, :b AS other",
      params: { a: INJECTION, b: 'x' },
    })
    expect(out.rows).toEqual([{ lit: ':a', val: INJECTION, other: 'x' }])
  })

  // docs/packs/database.md: "`query` | `sql` (one statement), `params?` | `{ rows, affected?, insertId? }`"
  it('reports the rows a write statement changed', async () => {
    await t.db.insert.execute({ table: 'users', rows: [{ email: 'a@x' }, { email: 'b@x' }] })
    const out = await t.db.query.execute({ sql: 'UPDATE users SET name = ? WHERE email <> ?', params: ['N', 'zzz'] })
    expect(out.affected).toBe(2)
  })

  // docs/packs/database.md: "Every value must be used and every placeholder given a value. A final `;` is fine; a second statement is refused."
  it('refuses a second statement, an unused parameter and a missing one', async () => {
    for (const input of [
      { sql: 'SELECT 1; DROP TABLE x' },
      { sql: 'SELECT ? AS a', params: [1, 2] },
      { sql: 'SELECT :a AS a', params: { b: 1 } },
      { sql: 'SELECT $2 AS a', params: [1] },
    ]) {
      expect(await rejection(t.db.query.execute(input))).toBeInstanceOf(ValidationError)
    }
    await xExists()
    expect((await t.db.query.execute({ sql: 'SELECT 1 AS one; -- trailing' })).rows).toEqual([{ one: 1 }])
  })

  // docs/packs/database.md: "a statement whose text holds more `?` than it has parameters (a `?` inside a literal) is refused"
  it('a "?" inside a literal is text, except on MySQL where it would shift the values (refused)', async () => {
    const run = t.db.query.execute({ sql: "SELECT 'why?' AS q, ? AS v", params: ['v'] })
    if (t.harness.dialect === 'mysql') {
      const err = await rejection(run)
      expect(err).toBeInstanceOf(NonRetryableError)
      expect(err.message).toMatch(/"\?"/)
    } else {
      expect((await run).rows).toEqual([{ q: 'why?', v: 'v' }])
    }
  })

  // docs/packs/database.md: "when off, the plugin does not register `query`"
  it('is off with a tables allow-list unless allowRawQuery, and then not registered', async () => {
    const limited = databaseActions({ ...t.harness.options, tables: ['users'] })
    try {
      expect(await rejection(limited.query.execute({ sql: 'SELECT 1 AS one' }))).toBeInstanceOf(NonRetryableError)
      const ids: string[] = []
      await limited.plugin.setup({ registerAction: (a: { id: string }) => ids.push(a.id) } as never)
      expect(ids).toEqual(['database.insert', 'database.update', 'database.upsert', 'database.delete', 'database.select'])
    } finally {
      await limited.close()
    }
    const opened = databaseActions({ ...t.harness.options, tables: ['users'], allowRawQuery: true })
    try {
      expect((await opened.query.execute({ sql: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }])
    } finally {
      await opened.close()
    }
  })
}
