import { describe, expect, it } from 'vitest'
import { duration, inline, table, time, toJson } from './format.js'

describe('format', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [12_400, '12.4s'],
    [185_000, '3m05s'],
    [7_800_000, '2h10m'],
    [356_400_000, '4d03h'],
    [-1_500, '-1.5s'],
    [undefined, '-'],
  ])('duration(%s) is %s', (ms, text) => {
    expect(duration(ms)).toBe(text)
  })

  it('times are UTC ISO to the second', () => {
    expect(time(Date.UTC(2025, 5, 1, 9, 30, 0, 123))).toBe('2025-06-01T09:30:00Z')
    expect(time(undefined)).toBe('-')
  })

  it('tables align every column but the last', () => {
    expect(
      table(
        ['A', 'BB'],
        [
          ['aaa', 'x'],
          ['b', 'yyyy'],
        ],
      ),
    ).toBe('A    BB\naaa  x\nb    yyyy\n')
  })

  it('values the serializer round-trips but JSON does not are printed, not thrown on', () => {
    expect(toJson({ n: 10n })).toBe('{\n  "n": "10"\n}\n')
    expect(inline({ big: 2n ** 70n })).toBe('{"big":"1180591620717411303424"}')
    expect(inline('x'.repeat(200), 10)).toBe('"xxxxxxxx…')
  })
})
