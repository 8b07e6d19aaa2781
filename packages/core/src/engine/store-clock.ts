import type { Datastore } from '../datastore/types.js'
import type { EngineStore } from './store.js'

/**
 * The offset of this process's clock against the store's, for stores with one shared clock
 * (`Datastore.now`): engines on several machines then order signals, wake-ups and runs alike.
 */
export class StoreClockSync {
  private synced = false
  private syncing: Promise<void> | undefined

  constructor(
    private readonly ds: Datastore,
    private readonly store: EngineStore,
    /** The offset the engine's clock adds to `Date.now()`; undefined when the engine has its own clock. */
    private readonly offset: { ms: number } | undefined,
  ) {}

  /** Measures the offset now (at start, and now and then: the clocks drift slowly apart). */
  async measure(): Promise<void> {
    const ds = this.ds
    if (!this.offset || !ds.now) return
    const before = Date.now()
    const storeNow = await this.store.guarded('now', () => (ds.now as () => Promise<number>)())
    // Whole ms: times in keys are `MAX_TIME - t`, past 2^52, where a double has no room for a
    // fraction: two runs 1 ms apart with a .5 offset got the same index time and listed out of order.
    this.offset.ms = Math.round(storeNow - (before + Date.now()) / 2)
    this.synced = true
  }

  /**
   * Measures once before the first write of an engine that is never started (a producer, the CLI),
   * so what it writes is ordered by the shared clock too. Undefined once measured.
   */
  sync(): Promise<void> | undefined {
    if (this.synced || !this.offset) return undefined
    this.syncing ??= this.measure().finally(() => (this.syncing = undefined))
    return this.syncing
  }
}
