// A few seeds of the engine simulation in the unit suite (`pnpm sim` runs thousands; see sim/run.ts).
import { describe, expect, it } from 'vitest'
import { checkSeed } from '../sim/run.js'

describe('the simulation', () => {
  it('holds every invariant for a few seeds, and plays a seed the same way twice', async () => {
    for (let seed = 1; seed <= 10; seed++) expect((await checkSeed(seed)).violations).toEqual([])
    expect(await checkSeed(42)).toEqual(await checkSeed(42))
  })
})
