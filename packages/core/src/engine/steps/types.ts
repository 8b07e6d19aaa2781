import type { WriteOp } from '../../datastore/types.js'
import type { Workflow } from '../../workflow.js'
import type { ExecutionDeps } from '../execution-deps.js'
import type { Parked } from '../parking.js'
import type { JournalEntry, RunRecord, StepKind } from '../records.js'
import type { Deferred } from '../step-promise.js'
import type { CommitPart } from '../writer.js'

/** A step the workflow code asked for, and the promise it holds. */
export interface StepCall {
  id: string
  kind: StepKind
  /** Short hash of the step's input, when it has one that replay must match. */
  hash?: string
  d: Deferred<unknown>
  /** Results handed to the code before it asked for this step (set by `request`). */
  activation?: number
  /** Position among all the steps the code asked for (set by `request`). */
  order?: number
  /**
   * Starts (or resumes) the step's work. `entry` is its unfinished journal entry (a sleep or wait
   * started, an action retrying), if the journal has one.
   */
  start(entry: JournalEntry | undefined): void
  /** Called when a journaled result of this step is handed over on replay (before the code sees it). */
  replayed?(entry: JournalEntry): void
}

/** A step's fresh result, handed to the code at the next quiet point and journaled in that order. */
export interface Outcome {
  call: StepCall
  entry: Omit<JournalEntry, 'seq' | 'gen' | 'at'>
  /** `entry.value` as the serializer encoded it already. */
  encoded?: string
  /** The error the code sees (a failed entry). */
  error?: Error
  /** Effects and consumed signals committed with the entry. */
  put?: WriteOp[]
  drop?: WriteOp[]
  /** Fields of the run record the step changes (setState). */
  patch?: Partial<RunRecord>
  /** Runs as the result is handed over (the live state changes, a signal counts as consumed). */
  apply?(): void
  /** Runs once the entry is durable (events). */
  durable?(): void
}

/** What steps need from the execution they run in (the execution implements it). */
export interface StepHost {
  readonly runId: string
  readonly workflow: Workflow
  readonly deps: ExecutionDeps
  /** Engine clock, Unix ms. */
  readonly now: number
  readonly record: RunRecord
  /** The live state object the code holds. */
  readonly state: Record<string, unknown>
  /** False once the execution is ending, closed, or the engine stops: steps do no new work. */
  readonly live: boolean
  /** Aborted when the run is cancelled or the execution ends. */
  readonly controller: AbortController
  readonly aborted: boolean
  /** Next step id for a base name: `name#1`, `name#2`, … in call order. */
  nextStepId(base: string): string
  /** Registers a call: matched against the journal, then replayed or started. */
  request(call: StepCall): void
  /** Hands a fresh result over at the next quiet point. */
  deliver(outcome: Outcome): void
  /** Journals an unfinished entry (a sleep or wait started, an action retrying) with the next batch. */
  note(entry: Omit<JournalEntry, 'seq' | 'gen' | 'at'>, part?: CommitPart): Promise<void>
  /** Waits until every earlier commit is durable and the lease is ours: before any step does work. */
  beforeWork(): Promise<void> | undefined
  /** Sends what is queued now; resolves once durable. */
  flush(): Promise<void>
  park(p: Parked): void
  unpark(id: string): void
  /** Counts work in flight (a step running, a result being prepared): no suspension meanwhile. */
  enter(): void
  leave(): void
  /** Waits `ms` on the engine's clock. */
  sleep(ms: number): Promise<void>
  /** Encodes, size-checks and decodes a step result, so the first run sees exactly what a replay will. */
  storable(stepId: string, value: unknown): { value: unknown; encoded: string }
  checkSize(encoded: string, limit: number, what: string): void
  /** The child run an `invoke` step started, if the journal knows it. */
  childOf(stepId: string): string | undefined
  /** The parent reference a child run of this run carries. */
  readonly parentRef: (stepId: string) => { runId: string; stepId: string; nonce: string }
}
