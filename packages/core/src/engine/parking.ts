import type { Buffered, Inbox } from './inbox.js'
import { CANCEL_SIGNAL } from './inbox.js'

/** A step that cannot finish now: a sleep or a retry delay (a time), or a wait (a signal or its deadline). */
export type Parked =
  | { kind: 'timer'; id: string; at: number; fire: () => void }
  | {
      kind: 'wait'
      id: string
      /** Signal name (`$child:<stepId>` for an invoke). */
      name: string
      deadline?: number
      /** How many results the code had been handed when it asked for this wait. */
      activation: number
      /** Position among the steps the code asked for (ties between waits asked for at one point). */
      order: number
      bind: (signal: Buffered) => void
      timeout: () => void
    }

/** The next thing that can happen to a parked step, and when it happened. */
export interface ParkedEvent {
  at: number
  run: () => void
}

/**
 * The steps a run is parked on, and which of them the next event is for. One event is taken at
 * a time, earliest first (a signal before a deadline at the same time), so a replay that meets
 * the same signals and times takes the same decisions.
 *
 * A signal goes to a wait of its name whose deadline it did not miss: the one started after the
 * most results (a wait that lost a `Promise.race` in an earlier round was started before the round
 * went on, so the live wait of the next round takes the signal); among waits started at the same
 * point, the first started. A signal no wait can take stays buffered for the next one.
 */
export class Parking {
  private readonly items = new Map<string, Parked>()

  add(p: Parked): void {
    this.items.set(p.id, p)
  }

  remove(id: string): void {
    this.items.delete(id)
  }

  get size(): number {
    return this.items.size
  }

  clear(): void {
    this.items.clear()
  }

  /** The earliest event available at `now`, if any. */
  next(now: number, inbox: Inbox): ParkedEvent | undefined {
    let best: ParkedEvent | undefined
    for (const signal of inbox.pending()) {
      if (signal.rec.name === CANCEL_SIGNAL) continue
      const wait = this.waitFor(signal)
      if (wait) {
        best = {
          at: signal.rec.sentAt,
          run: () => {
            this.items.delete(wait.id)
            inbox.consume(signal.key)
            wait.bind(signal)
          },
        }
        break
      }
    }
    let due: Parked | undefined
    let dueAt = Number.POSITIVE_INFINITY
    // Ties between due timers go to the one parked first (map order).
    for (const p of this.items.values()) {
      const at = p.kind === 'timer' ? p.at : (p.deadline ?? Number.POSITIVE_INFINITY)
      if (at <= now && at < dueAt) {
        due = p
        dueAt = at
      }
    }
    if (due && (!best || dueAt < best.at)) {
      const p = due
      return {
        at: dueAt,
        run: () => {
          this.items.delete(p.id)
          if (p.kind === 'timer') p.fire()
          else p.timeout()
        },
      }
    }
    return best
  }

  private waitFor(signal: Buffered) {
    let chosen: Extract<Parked, { kind: 'wait' }> | undefined
    for (const p of this.items.values()) {
      if (p.kind !== 'wait' || p.name !== signal.rec.name) continue
      if (p.deadline !== undefined && signal.rec.sentAt > p.deadline) continue
      if (!chosen || p.activation > chosen.activation || (p.activation === chosen.activation && p.order < chosen.order)) chosen = p
    }
    return chosen
  }

  /** The earliest time a parked step needs the run again (a timer, a deadline). */
  wakeAt(): number | undefined {
    let min: number | undefined
    for (const p of this.items.values()) {
      const at = p.kind === 'timer' ? p.at : p.deadline
      if (at !== undefined && (min === undefined || at < min)) min = at
    }
    return min
  }

  /** The signal names the run waits for. */
  waitingFor(): string[] {
    const names = new Set<string>()
    for (const p of this.items.values()) if (p.kind === 'wait') names.add(p.name)
    return [...names]
  }
}
