import { describe, expect, it } from 'vitest'
import { memoryStore } from '../datastore/memory.js'
import { jsonSerializer } from '../serializer.js'
import { keys } from './keys.js'
import { EngineStore } from './store.js'
import { StoreClockSync } from './store-clock.js'

describe('StoreClockSync', () => {
  it('keeps the offset to the store clock in whole ms, so runs 1 ms apart keep their order in the run index', async () => {
    // A store clock 1000.5 ms ahead: a fractional offset.
    const ds = { ...memoryStore(), now: async () => Date.now() + 1000.5 }
    const offset = { ms: 0 }
    await new StoreClockSync(ds, new EngineStore(ds, jsonSerializer), offset).measure()
    expect(Number.isInteger(offset.ms)).toBe(true)
    expect(Math.abs(offset.ms - 1000.5)).toBeLessThanOrEqual(1.5)
    // Why it matters: past 2^52 a double holds no fraction, so `MAX_TIME - t` of two times 1 ms
    // apart with a .5 fraction can round to the same index time (the newer then sorts by id).
    const t = 1796426283813
    const key = (at: number, id: string) => keys.index.byWorkflowStatus('w', 'waiting', at, id)
    expect(key(t + 1.5, 'a') === key(t + 0.5, 'a')).toBe(true)
    expect(key(t + 1 + offset.ms, 'b') < key(t + offset.ms, 'a')).toBe(true)
  })
})
