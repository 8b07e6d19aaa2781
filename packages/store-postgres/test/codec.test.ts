// The code that lets `text` columns hold U+0000 and lone surrogates: lossless, prefix-preserving,
// and in code point order for everything else.
import { describe, expect, it } from 'vitest'
import { compareCodePoints, decode, encode, keyRange, prefixEnd } from '../src/codec.js'

const samples = [
  '',
  'a',
  'run/1',
  '\u0000',
  'a\u0000b',
  '\u0001',
  '\u0001\u0001',
  '\u0002',
  '\ud800',
  '\udfff',
  'x\udc00y',
  '🎉',
  '\uffff',
  'é',
  '\u0001\u00030041',
]

describe('codec', () => {
  it('round-trips every string, leaving plain ones untouched', () => {
    for (const s of samples) expect(decode(encode(s))).toBe(s)
    expect(encode('run/1')).toBe('run/1')
    for (const s of samples) expect(encode(s)).not.toContain('\u0000')
    expect(new Set(samples.map(encode)).size).toBe(samples.length)
  })

  it('keeps prefixes: s starts with p exactly when encode(s) starts with encode(p)', () => {
    for (const s of samples) for (const p of samples) expect(encode(s).startsWith(encode(p))).toBe(s.startsWith(p))
  })

  it('keeps code point order for well-formed strings', () => {
    const wellFormed = samples.filter((s) => !/[\ud800-\udfff]/u.test(s))
    for (const a of wellFormed)
      for (const b of wellFormed) expect(Math.sign(compareCodePoints(encode(a), encode(b)))).toBe(Math.sign(compareCodePoints(a, b)))
  })

  it('builds exact key ranges', () => {
    expect(prefixEnd('ab')).toBe('ac')
    expect(prefixEnd('a\u{10ffff}')).toBe('b')
    expect(prefixEnd('\u{10ffff}')).toBeUndefined()
    expect(keyRange('b/', {})).toEqual({ lower: 'b/', upper: 'b0', empty: false })
    expect(keyRange('b/', { after: 'b/2', before: 'b/3' })).toEqual({ lower: 'b/2\u0001', upper: 'b/3', empty: false })
    expect(keyRange('b/', { after: 'c' }).empty).toBe(true)
    expect(keyRange('', { before: 'a' })).toEqual({ lower: '', upper: 'a', empty: false })
  })
})
