import { describe, expect, it } from 'vitest'
import { timeOrderedUuid } from './ids.js'

describe('timeOrderedUuid', () => {
  it('is a version 7 UUID carrying the time in its first 48 bits', () => {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123)
    const id = timeOrderedUuid(at)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at)
  })

  it('sorts by time, and is random within one millisecond', () => {
    const ids = [3, 1, 2, 1_000_000].map((dt) => timeOrderedUuid(1_700_000_000_000 + dt))
    expect([...ids].sort()).toEqual([ids[1], ids[2], ids[0], ids[3]])
    expect(timeOrderedUuid(5)).not.toBe(timeOrderedUuid(5))
  })
})
