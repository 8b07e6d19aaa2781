// The bench's pure helpers: how a ratio between two subjects is taken.
import { describe, expect, it } from 'vitest'
import { median, pairedRatio } from '../src/measure.js'

describe('pairedRatio', () => {
  it('takes each ratio inside one repetition, so a drift between repetitions cancels out', () => {
    // The machine is twice as slow in repetition 2: both sides move, the ratio inside it stays 2.
    const raw = [1, 2, 1]
    const sdk = [2, 4, 4]
    expect(pairedRatio(sdk, raw)).toEqual([2, 2, 4])
    // The ratio of the two medians mixes repetitions: 4 / 1.
    expect(median(sdk) / median(raw)).toBe(4)
  })

  it('gives the median and the range of the ratios', () => {
    expect(pairedRatio([3, 8, 5], [1, 2, 1])).toEqual([4, 3, 5])
  })

  it('pairs only the repetitions both sides ran, and gives NaN for none', () => {
    expect(pairedRatio([2, 4, 100], [1, 2])).toEqual([2, 2, 2])
    expect(pairedRatio([], [1]).every(Number.isNaN)).toBe(true)
  })
})
