import type { NonDeterminismError } from '../errors.js'
import { fromStoredError, type JournalEntry } from './records.js'
import type { ReplayCursor } from './replay-cursor.js'
import type { Outcome, StepCall } from './steps/types.js'

/** What the hand-over needs from its execution. */
export interface HandoverSink {
  /** Journals a fresh result (its position is the next `seq`); returns that position. */
  journal(outcome: Outcome): number
  /** A journaled result was handed over on replay (events). */
  replayed(entry: JournalEntry): void
  /** The code no longer fits the journal. */
  diverged(error: NonDeterminismError): void
  /** Steps may start work. */
  readonly live: boolean
}

/**
 * How results reach workflow code: one per quiet point, in journal order (`seq`), on the first run
 * as on replay. During replay it hands over the journal's results, each only to a step the code
 * asked for, and holds back the steps the journal does not finish until the replay is through;
 * then it hands over fresh results in the order they came, and journals each as it does.
 */
export class Handover {
  /** Steps asked for whose result the code has not been handed yet. */
  readonly calls = new Map<string, StepCall>()
  private readonly outcomes: Outcome[] = []
  private deferred: { call: StepCall; entry: JournalEntry | undefined }[] = []
  private requests = 0
  /** Results handed over so far (a wait started after more of them is the newer one). */
  delivered = 0
  /** Position of the last step failure the code was handed. */
  lastFailedSeq: number | undefined

  constructor(
    private readonly cursor: ReplayCursor,
    private readonly sink: HandoverSink,
  ) {}

  /** The journal's results are all handed over (the held-back steps have started). */
  replayDone = false

  /** The code asks for a step: matched against the journal, then replayed, held back, or started. */
  request(call: StepCall): void {
    call.activation = this.delivered
    call.order = this.requests++
    let entry: JournalEntry | undefined
    try {
      entry = this.cursor.request(call.id, call.kind, call.hash)
    } catch (error) {
      this.sink.diverged(error as NonDeterminismError)
      return
    }
    this.calls.set(call.id, call)
    if (entry && (entry.status === 'done' || entry.status === 'failed')) return
    if (!this.replayDone) this.deferred.push({ call, entry })
    else if (this.sink.live) call.start(entry)
  }

  /** A fresh result, to hand over at a quiet point. */
  push(outcome: Outcome): void {
    this.outcomes.push(outcome)
  }

  get pending(): boolean {
    return this.outcomes.length > 0
  }

  /**
   * During replay: hands over the next journaled result ('handed'), or finds the replay through
   * ('done': the held-back steps start) or diverged ('diverged'). `finished`: the workflow
   * function returned already.
   */
  replayNext(finished: boolean): 'handed' | 'done' | 'diverged' {
    const head = this.cursor.peek()
    // The step the code reached instead: one the journal lacks, else (a reorder) any it waits on.
    const found = () => [...this.calls.keys()].find((id) => !this.cursor.requested(id)) ?? [...this.calls.keys()][0]
    if (head) {
      const call = this.calls.get(head.id)
      if (!call || finished) {
        this.sink.diverged(this.cursor.divergence(head.id, finished ? undefined : found()))
        return 'diverged'
      }
      this.cursor.advance()
      this.calls.delete(head.id)
      this.delivered++
      call.replayed?.(head)
      this.sink.replayed(head)
      if (head.status === 'failed') {
        this.lastFailedSeq = head.seq
        call.d.reject(fromStoredError(head.error ?? { name: 'Error', message: 'failed' }))
      } else call.d.resolve(head.value)
      return 'handed'
    }
    const unreached = this.cursor.firstUnrequested()
    if (unreached !== undefined) {
      this.sink.diverged(this.cursor.divergence(unreached, found()))
      return 'diverged'
    }
    this.replayDone = true
    const starts = this.deferred
    this.deferred = []
    for (const { call, entry } of starts) if (this.sink.live) call.start(entry)
    return 'done'
  }

  /** Hands the next fresh result to the code, journaled first; false when there is none. */
  handNext(): boolean {
    const o = this.outcomes.shift()
    if (!o) return false
    this.calls.delete(o.call.id)
    const seq = this.sink.journal(o)
    this.delivered++
    o.apply?.()
    if (o.entry.status === 'failed') {
      this.lastFailedSeq = seq
      o.call.d.reject(o.error ?? fromStoredError(o.entry.error ?? { name: 'Error', message: 'failed' }))
    } else o.call.d.resolve(o.entry.value)
    return true
  }

  /** A step the code asked for, never awaited, and still unfinished (a missing `await`). */
  forgotten(): StepCall | undefined {
    for (const call of this.calls.values()) if (!call.d.promise.consumed) return call
    return undefined
  }

  /** Drops what waits to be handed over (the execution ended). */
  clear(): void {
    this.outcomes.length = 0
  }
}
