/**
 * Calls back once the workflow code has run as far as it can: after every microtask queued so
 * far, and every microtask those queue, has run. Workflow code between steps only awaits promises
 * (steps, and plain async functions around them), so at that point it is waiting on steps.
 *
 * How: a microtask queued now runs after the reactions already queued; from it, a `nextTick`
 * callback is queued, and Node runs `nextTick` callbacks only once the microtask queue is empty.
 * That costs no turn of the event loop (no I/O in between), unlike `setImmediate`.
 *
 * Results reach workflow code only at these points, one result per point, on the first run as on
 * replay: so the code sees the same results in the same order, whatever the microtask
 * interleaving of the engine's own work was (see ARCHITECTURE.md, "Replay").
 */
export class Quiescence {
  private scheduled = false

  constructor(private readonly onQuiet: () => void) {}

  /** Asks for one call of `onQuiet` at the next quiet point (coalesced). */
  request(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(this.afterMicrotasks)
  }

  private readonly afterMicrotasks = () => process.nextTick(this.fire)

  private readonly fire = () => {
    this.scheduled = false
    this.onQuiet()
  }
}
