// The SQL of `list`: one lower and one upper bound, the tighter of each pair, in SQLite's order.

import { compareCodePoints } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { countQuery, listQuery } from '../src/sql.js'

const bounds = (sql: string) => sql.match(/key [<>]=? \?/g)

describe('listQuery', () => {
  it('bounds the range by `before` when it is tighter than the prefix end (due entries before now)', () => {
    const { sql, params } = listQuery('', 'due/', { before: 'due/0000000001000', limit: 200 }, 5)
    expect(bounds(sql)).toEqual(['key >= ?', 'key < ?'])
    expect(params).toEqual(['', 5, 'due/', 'due/0000000001000', 200])
  })

  it('keeps the prefix end when `before` lies beyond it, and `after` when it is past the prefix', () => {
    const { sql, params } = listQuery('ns', 'jrn/a!', { before: 'zzz', after: 'jrn/a!00000003' }, 0)
    expect(bounds(sql)).toEqual(['key > ?', 'key < ?'])
    expect(params).toEqual(['ns', 0, 'jrn/a!00000003', 'jrn/a"'])
  })

  it('ignores an `after` below the prefix', () => {
    const { sql, params } = listQuery('', 'run/', { after: 'a' }, 0)
    expect(bounds(sql)).toEqual(['key >= ?', 'key < ?'])
    expect(params).toEqual(['', 0, 'run/', 'run0'])
  })

  it('count takes the same bounds as list, in both of its subqueries', () => {
    const { sql, params } = countQuery('ns', 'due/', { before: 'due/0000000001000' }, 7)
    expect(bounds(sql)).toEqual(['key >= ?', 'key < ?', 'key >= ?', 'key < ?'])
    expect(params).toEqual(['ns', 'due/', 'due/0000000001000', 7, 'ns', 'due/', 'due/0000000001000'])
    expect(sql).not.toMatch(/LIKE/i)
    // An empty prefix has no upper bound.
    expect(bounds(countQuery('', '', {}, 0).sql)).toEqual(['key >= ?', 'key >= ?'])
  })

  it('compares in code point order, as SQLite compares UTF-8 bytes', () => {
    expect(compareCodePoints('\uffff', '\u{10000}')).toBeLessThan(0) // UTF-16 order says the opposite
    expect('\uffff' < '\u{10000}').toBe(false)
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0)
    expect(compareCodePoints('b', 'abc')).toBeGreaterThan(0)
    expect(compareCodePoints('x\u{1F600}y', 'x\u{1F600}y')).toBe(0)
  })
})
