/** Where the engine reads time and sets timers; the test engine swaps in a virtual clock. */
export interface Clock {
  /** Unix ms. */
  now(): number
  /** Calls `fn` once `ms` have passed on this clock; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void
}

// Node's setTimeout overflows past 2^31-1 ms (~24.8 days) and fires at once: chain shorter timers.
const MAX_TIMER_MS = 2_147_483_647

/**
 * A wall-clock timer chained past setTimeout's limit, so a 30-day wait does not fire early.
 * `ref: false` lets the process exit while it waits (the engine's own timers).
 */
export const longTimer = (fn: () => void, ms: number, ref: boolean): (() => void) => {
  let handle: NodeJS.Timeout
  const due = Date.now() + ms
  const arm = () => {
    const left = due - Date.now()
    handle = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.max(0, Math.min(left, MAX_TIMER_MS)))
    if (!ref) handle.unref?.()
  }
  arm()
  return () => clearTimeout(handle)
}

/** The wall clock. Its timers do not keep the process alive (the engine's `keepAlive` does that). */
export const systemClock: Clock = {
  now: Date.now,
  setTimer: (fn, ms) => {
    if (ms > 0) return longTimer(fn, ms, false)
    // Due now (a run to claim at once): after the I/O already queued, without setTimeout's 1 ms floor.
    // Kept ref'd: an unref'd immediate does not wake the event loop out of its wait for I/O.
    const handle = setImmediate(fn)
    return () => clearImmediate(handle)
  },
}

/** The system clock shifted by an offset measured against a store's clock (engines sharing a store agree on time). */
export const offsetClock = (offset: { ms: number }): Clock => ({
  now: () => Date.now() + offset.ms,
  setTimer: systemClock.setTimer,
})

/** A clock that moves only when told to: `advance('30d')` fires every timer due on the way, in order. */
export interface VirtualClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void
  /** Sets the time (never backwards). */
  set(now: number): void
}

export const virtualClock = (start = Date.UTC(2030, 0, 1)): VirtualClock => {
  let current = start
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const fireDue = () => {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const entry of timers) if (entry[1].at <= current && (!next || entry[1].at < next[1].at)) next = entry
      if (!next) return
      timers.delete(next[0])
      next[1].fn()
    }
  }
  return {
    now: () => current,
    setTimer(fn, ms) {
      const id = ++seq
      timers.set(id, { at: current + Math.max(0, ms), fn })
      return () => timers.delete(id)
    },
    advance(ms) {
      current += ms
      fireDue()
    },
    set(now) {
      current = Math.max(current, now)
      fireDue()
    },
  }
}
