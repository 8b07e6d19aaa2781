import type { ListedEntry } from '../datastore/types.js'
import type { Hooks } from '../hooks/registry.js'
import type { Logger } from '../logger.js'
import type { Clock } from './clock.js'
import type { RunRecord } from './records.js'
import type { Runs } from './runs.js'
import type { EngineStore } from './store.js'

/** A run executing in this engine, as the scheduler sees it. */
export interface LocalRun {
  readonly record: RunRecord
  /** Renews the lease; resolves once durable. */
  renew(): Promise<void>
  /** True (and the execution stops) when the lease is within `marginMs` of running out without a renewal. */
  leaseExpired(marginMs: number): boolean
  /** A signal arrived for it. */
  signalled(): void
}

/** What the scheduler needs from its engine. */
export interface SchedulerHost {
  readonly engineId: string
  readonly store: EngineStore
  readonly runs: Runs
  readonly clock: Clock
  readonly log: Logger
  readonly hooks: Hooks
  readonly multiProcess: boolean
  readonly leaseMs: number
  readonly pollIntervalMs: number
  /** How long a run without a free concurrency slot waits before it is looked at again, ms. */
  readonly slotWaitMs: number
  /** The execution of a run in this engine, if it has one (also while its last steps finish). */
  local(runId: string): LocalRun | undefined
  locals(): Iterable<LocalRun>
  /** A slot is free for one more execution. */
  hasRoom(): boolean
  /** This engine has the workflow version the run needs. */
  canRun(record: RunRecord): boolean
  /** Claims the run (compare-and-set on its record) and executes it; false when another engine won. */
  claim(record: RunRecord, version: number, foundDueKey?: string): Promise<boolean>
  /** Fires a page of due schedule tick entries (`tick/…`, see schedules.ts). */
  fireTicks(page: ListedEntry[]): Promise<void>
  /** Cancels the children of a cancelled run. */
  cascade(runId: string): Promise<void>
  /** Periodic upkeep done with lease renewal (the single-process lock, the store clock). */
  upkeep(): void
}
