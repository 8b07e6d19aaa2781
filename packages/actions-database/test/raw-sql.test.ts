import { describe, expect, it } from 'vitest'
import { bindRawSql, leadingKeyword, RawSqlError } from '../src/raw-sql.js'

const sqlOf = (fragments: string[]) => fragments.join('<?>')

describe('bindRawSql', () => {
  // docs/packs/database.md: "with an array, `$1`, `$2`… (a number may repeat) or, when there is no `$n`, each `?` in order; with an object, `:name`"
  it('binds ? in order, $n by number, :name by name', () => {
    expect(bindRawSql('a = ? AND b = ?', [1, 2], 'sqlite')).toEqual({ fragments: ['a = ', ' AND b = ', ''], values: [1, 2] })
    const numbered = bindRawSql('a = $2 OR b = $1 OR c = $2', ['x', 'y'], 'postgres')
    expect(numbered.values).toEqual(['y', 'x', 'y'])
    expect(bindRawSql('a = :a AND b = :b_2', { a: 1, b_2: null }, 'mysql').values).toEqual([1, null])
  })

  // docs/packs/database.md: "Placeholders inside strings, quoted identifiers, comments and PostgreSQL dollar-quoted bodies are text"
  it('leaves placeholders inside strings, identifiers and comments as text', () => {
    const sql = `SELECT '?', ':x', "?", \`?\`, ? -- ? :x\n/* ? */ , ?`
    for (const dialect of ['mysql', 'sqlite'] as const) {
      const bound = bindRawSql(sql, [1, 2], dialect)
      expect(bound.values).toEqual([1, 2])
      expect(sqlOf(bound.fragments)).toBe(`SELECT '?', ':x', "?", \`?\`, <?> -- ? :x\n/* ? */ , <?>`)
    }
    // PostgreSQL nests block comments; MySQL ends the comment at the first */.
    const nested = 'SELECT /* a /* b ? */ c ? */ ?'
    expect(sqlOf(bindRawSql(nested, [1], 'postgres').fragments)).toBe('SELECT /* a /* b ? */ c ? */ <?>')
    expect(() => bindRawSql(nested, [1], 'mysql')).toThrow(/more "\?" placeholders/)
  })

  it('knows each dialect escapes: backslashes on MySQL, E strings and dollar quotes on PostgreSQL, [ids] on SQLite', () => {
    expect(bindRawSql("SELECT 'it\\'s ?', ?", [1], 'mysql').values).toEqual([1])
    expect(bindRawSql("SELECT E'it\\'s ?', $1", [1], 'postgres').values).toEqual([1])
    expect(bindRawSql("SELECT 'it''s ?', $1", [1], 'postgres').values).toEqual([1])
    expect(bindRawSql('SELECT $tag$ $1 ? $tag$, $$ :a $$, $1', [1], 'postgres').values).toEqual([1])
    expect(bindRawSql('SELECT [weird ?], ?', [1], 'sqlite').values).toEqual([1])
  })

  // docs/packs/database.md: "`::text` casts are not parameters"
  it('does not mistake a cast or a jsonb ? operator for a parameter', () => {
    const cast = bindRawSql('SELECT :v::text', { v: 'a' }, 'postgres')
    expect(sqlOf(cast.fragments)).toBe('SELECT <?>::text')
    const jsonb = bindRawSql("SELECT data ? 'key' FROM t WHERE id = $1", [5], 'postgres')
    expect(sqlOf(jsonb.fragments)).toBe("SELECT data ? 'key' FROM t WHERE id = <?>")
  })

  // docs/packs/database.md: "A final `;` is fine; a second statement is refused."
  it('drops a final ; with trailing comments, refuses a second statement', () => {
    expect(bindRawSql('SELECT 1; -- done\n  /* end */ ', undefined, 'sqlite').fragments).toEqual(['SELECT 1'])
    expect(() => bindRawSql('SELECT 1; SELECT 2', undefined, 'sqlite')).toThrow(/more than one statement/)
    expect(() => bindRawSql("SELECT ';'; DELETE FROM t", undefined, 'mysql')).toThrow(RawSqlError)
    expect(bindRawSql("SELECT ';' AS a", undefined, 'mysql').fragments).toEqual(["SELECT ';' AS a"])
  })

  // docs/packs/database.md: "Every value must be used and every placeholder given a value."
  it('refuses a placeholder without a value and a value without a placeholder', () => {
    expect(() => bindRawSql('SELECT ?, ?', [1], 'sqlite')).toThrow(/more "\?" placeholders/)
    expect(() => bindRawSql('SELECT ?', [1, 2], 'sqlite')).toThrow(/#2 not used/)
    expect(() => bindRawSql('SELECT $3', [1, 2, 3], 'postgres')).toThrow(/#1, #2 not used/)
    expect(() => bindRawSql('SELECT :a', { b: 1 }, 'mysql')).toThrow(/:a has no value/)
    expect(() => bindRawSql('SELECT :a', { a: 1, extra: 2 }, 'mysql')).toThrow(/"extra" not used/)
    expect(() => bindRawSql('SELECT :constructor', {}, 'mysql')).toThrow(/no value/)
  })
})

describe('leadingKeyword', () => {
  // docs/packs/database.md: "for a `query` only when the statement is an INSERT or REPLACE that wrote rows"
  it('reads the first word after blanks and comments, as each dialect reads comments', () => {
    expect(leadingKeyword('  /* a */ -- b\n insert INTO t', 'sqlite')).toBe('INSERT')
    expect(leadingKeyword('# c\nREPLACE INTO t', 'mysql')).toBe('REPLACE')
    expect(leadingKeyword('--x\rUPDATE t', 'postgres')).toBe('UPDATE')
    // "--x" is no comment on MySQL: the statement starts with a minus sign.
    expect(leadingKeyword('--x\nINSERT INTO t', 'mysql')).toBe('')
    expect(leadingKeyword('WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a', 'postgres')).toBe('WITH')
    expect(leadingKeyword('', 'sqlite')).toBe('')
  })
})
