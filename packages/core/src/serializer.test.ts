import { describe, expect, it } from 'vitest'
import { SerializationError } from './errors.js'
import { jsonSerializer, roundTrip } from './serializer.js'

describe('jsonSerializer', () => {
  it('round-trips what plain JSON loses', () => {
    const value = {
      when: new Date('2026-01-02T03:04:05.006Z'),
      big: 12345678901234567890n,
      nothing: undefined,
      list: [1, undefined, Number.NaN, Number.POSITIVE_INFINITY, -0],
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Date(0)],
      ]),
      set: new Set(['x', 'y']),
      bytes: new Uint8Array([1, 2, 255]),
      tricky: { $t: 'D', v: 'not a date' },
    }
    const back = roundTrip(value)
    expect(back.when).toEqual(value.when)
    expect(back.big).toBe(value.big)
    expect('nothing' in back).toBe(true)
    expect(back.list).toEqual([1, undefined, Number.NaN, Number.POSITIVE_INFINITY, -0])
    expect(Object.is(back.list[4], -0)).toBe(true)
    expect(back.map).toEqual(value.map)
    expect(back.set).toEqual(value.set)
    expect(back.bytes).toEqual(value.bytes)
    expect(back.tricky).toEqual({ $t: 'D', v: 'not a date' })
  })

  it('round-trips errors with name, message, code and cause', () => {
    const err = Object.assign(new TypeError('bad', { cause: new Error('root') }), { code: 'E_BAD' })
    const back = roundTrip(err)
    expect(back).toBeInstanceOf(Error)
    expect(back.name).toBe('TypeError')
    expect(back.message).toBe('bad')
    expect((back as unknown as { code: string }).code).toBe('E_BAD')
    expect((back.cause as Error).message).toBe('root')
  })

  it('keeps plain JSON byte-identical to JSON.stringify', () => {
    const value = { a: 1, b: ['x', true, null], c: { d: 'e' } }
    expect(jsonSerializer.encode(value)).toBe(JSON.stringify(value))
  })

  it('refuses functions, symbols, cycles and class instances, naming the field', () => {
    expect(() => jsonSerializer.encode({ a: { fn: () => 1 } }, 'output')).toThrowError(/output\.a\.fn/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => jsonSerializer.encode(cyclic)).toThrow(SerializationError)
    class Money {
      constructor(readonly cents: number) {}
    }
    expect(() => jsonSerializer.encode({ price: new Money(1) })).toThrowError(/class Money at value\.price/)
    class WithJson {
      toJSON() {
        return 'json!'
      }
    }
    expect(roundTrip({ v: new WithJson() })).toEqual({ v: 'json!' })
  })

  it('reports corrupt records with the key', () => {
    expect(() => jsonSerializer.decode('{"a":', 'run:1')).toThrowError(/Record "run:1" is not valid JSON/)
  })
})
