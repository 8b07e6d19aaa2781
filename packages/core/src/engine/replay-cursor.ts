import { NonDeterminismError } from '../errors.js'
import type { JournalEntry, RunRecord, StepKind } from './records.js'

const terminal = (e: JournalEntry) => e.status === 'done' || e.status === 'failed'

/**
 * Walks a run's journal as the workflow code asks for its steps again.
 *
 * The journal says, for each step id, its latest entry; and, in the order the workflow code was
 * handed them (`seq`), the results and failures it saw. Replay hands them over in that same order,
 * one per quiet point (see `quiescence.ts`), and only to a step the code has asked for: so a
 * fan-out whose branches finished in some order on the first run sees them finish in that order
 * again, and each branch asks for its next step under the same id. A result whose step the code
 * has not asked for when its turn comes, a step of another kind or with other input under a
 * journaled id, or a journaled step the code never reaches, is a {@link NonDeterminismError}.
 */
export class ReplayCursor {
  /** Latest entry per step id (a failure set aside by `engine.retry` is not one). */
  private readonly latest = new Map<string, JournalEntry>()
  /** The child run of each `invoke` step, whatever became of its entries. */
  readonly childIds = new Map<string, string>()
  /** Results and failures, in the order the code was handed them. */
  private readonly deliveries: JournalEntry[] = []
  private next = 0
  private readonly unrequested = new Set<string>()
  /** Signals the journal says were consumed. */
  readonly consumedSignals = new Set<string>()
  /** The next free journal position. */
  nextSeq = 0

  constructor(
    entries: JournalEntry[],
    record: Pick<RunRecord, 'id' | 'generation' | 'retryFromSeq'>,
    private readonly runId = record.id,
  ) {
    const retryFrom = record.retryFromSeq ?? Number.MAX_SAFE_INTEGER
    for (const e of entries) {
      if (e.seq >= this.nextSeq) this.nextSeq = e.seq + 1
      if (e.signalKey) this.consumedSignals.add(e.signalKey)
      if (e.childId) this.childIds.set(e.id, e.childId)
      // After engine.retry, the failure that ended the run (and any after it) is tried again;
      // failures the code caught before it stay as they were.
      if (e.status === 'failed' && e.gen < record.generation && e.seq >= retryFrom) {
        this.latest.delete(e.id)
        continue
      }
      const prev = this.latest.get(e.id)
      if (!prev || prev.seq < e.seq) this.latest.set(e.id, e)
    }
    for (const e of this.latest.values()) {
      this.unrequested.add(e.id)
      if (terminal(e)) this.deliveries.push(e)
    }
    this.deliveries.sort((a, b) => a.seq - b.seq)
  }

  /** How many steps the journal knows (an unfinished one counts). */
  get steps(): number {
    return this.latest.size
  }

  /** Journal entries still to hand over. */
  get replaying(): boolean {
    return this.next < this.deliveries.length
  }

  /** The next result to hand over, if any. */
  peek(): JournalEntry | undefined {
    return this.deliveries[this.next]
  }

  advance(): void {
    this.next++
  }

  /**
   * The code asks for step `id`: its latest journal entry, if any. Throws when the journal holds
   * another kind of step, or another input, under that id.
   */
  request(id: string, kind: StepKind, hash?: string): JournalEntry | undefined {
    const entry = this.latest.get(id)
    if (!entry) return undefined
    this.unrequested.delete(id)
    if (entry.kind !== kind) {
      throw new NonDeterminismError(
        `Run "${this.runId}": step "${id}" was a ${entry.kind} step when the run started and is now a ${kind} step. The workflow code changed under an in-flight run; pin it with a new version.`,
        this.runId,
        id,
      )
    }
    if (hash !== undefined && entry.h !== undefined && entry.h !== hash) {
      throw new NonDeterminismError(
        `Run "${this.runId}": step "${id}" is called with other input than when the run started (the journal's result belongs to another call). Parallel branches need distinct step ids or inputs computed the same way on replay.`,
        this.runId,
        id,
      )
    }
    return entry
  }

  /** True when the journal has an entry for `id` that the code has asked for. */
  requested(id: string): boolean {
    return this.latest.has(id) && !this.unrequested.has(id)
  }

  /** The first journaled step (by position) the code has not asked for. */
  firstUnrequested(): string | undefined {
    let first: JournalEntry | undefined
    for (const id of this.unrequested) {
      const e = this.latest.get(id) as JournalEntry
      if (!first || e.seq < first.seq) first = e
    }
    return first?.id
  }

  /** The error for a result whose turn came before the code asked for its step. */
  divergence(expected: string, found: string | undefined): NonDeterminismError {
    const at = found === undefined ? 'the code waits on no step the journal has' : `the code reached step "${found}"`
    return new NonDeterminismError(
      `Run "${this.runId}": ${at} where the journal has step "${expected}" (a step renamed, reordered or removed, or the workflow awaited something that is not a step). The run is stopped; deploy the old code under its version, or retry it with fixed code.`,
      this.runId,
      found ?? expected,
      expected,
    )
  }
}
