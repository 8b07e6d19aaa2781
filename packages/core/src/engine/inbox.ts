import { keys } from './keys.js'
import type { SignalRecord } from './records.js'
import type { EngineStore } from './store.js'

/** A buffered signal, by its key (whose order is the order it was sent in). */
export interface Buffered {
  key: string
  rec: SignalRecord
}

/** The name of the signal that carries a child run's end to the `invoke` step waiting for it. */
export const childSignal = (stepId: string) => `$child:${stepId}`
export const CANCEL_SIGNAL = '$cancel'

/**
 * The signals of one run that no journal entry has consumed yet, in the order they were sent.
 * It owns what reaches the run from outside: user signals, cancel requests and child results.
 * Binding a signal to a wait is the parking's choice (`parking.ts`); consuming it is recorded in
 * the wait's journal entry, in the batch that deletes it.
 */
export class Inbox {
  private signals: Buffered[] = []
  private readonly known = new Set<string>()
  /** Keys consumed by journal entries: never delivered again. */
  readonly consumed: Set<string>

  constructor(consumed: Set<string>) {
    this.consumed = consumed
  }

  /**
   * Adds signals read from the store (all of them, or the ones sent since the last read). Returns
   * the keys of consumed signals still stored (an earlier batch wrote the consuming entry and
   * stopped before deleting them) so the next batch deletes them.
   */
  merge(items: Buffered[]): string[] {
    const leftovers: string[] = []
    let added = false
    for (const item of items) {
      if (this.consumed.has(item.key)) {
        leftovers.push(item.key)
        continue
      }
      if (this.known.has(item.key)) continue
      this.known.add(item.key)
      this.signals.push(item)
      added = true
    }
    if (added) this.signals.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    return leftovers
  }

  /**
   * Reads the run's inbox marker, then its buffered signals, and adds them; resolves the marker's
   * version. In that order: a signal sent in between moves the marker past the version held, so
   * the next commit fenced on it is refused and the inbox is read again.
   */
  async read(store: EngineStore, runId: string, nonce: string): Promise<number> {
    const marker = await store.get(keys.inbox(runId))
    const items = await store.listAll(keys.signalPrefix(runId, nonce))
    this.merge(items.map((i) => ({ key: i.key, rec: store.decode<SignalRecord>(i, i.key) })))
    return marker?.version ?? 0
  }

  /** The first cancel request, if one is buffered: its reason and key. */
  cancelRequest(): { reason: string; key: string } | undefined {
    const s = this.signals.find((s) => s.rec.name === CANCEL_SIGNAL && !this.consumed.has(s.key))
    if (!s) return undefined
    return { reason: String((s.rec.payload as { reason?: string } | undefined)?.reason ?? 'cancelled'), key: s.key }
  }

  /** Unconsumed signals in send order. */
  *pending(): Iterable<Buffered> {
    for (const s of this.signals) if (!this.consumed.has(s.key)) yield s
  }

  /** Marks the signals the journal says were consumed; returns those still stored (to delete). */
  consumeAll(keys: Iterable<string>): string[] {
    const stored: string[] = []
    for (const key of keys) {
      if (this.known.has(key) && this.signals.some((s) => s.key === key)) stored.push(key)
      this.consume(key)
    }
    return stored
  }

  /** Marks a signal consumed (its wait's journal entry records it). */
  consume(key: string): void {
    this.consumed.add(key)
    this.signals = this.signals.filter((s) => s.key !== key)
  }
}
