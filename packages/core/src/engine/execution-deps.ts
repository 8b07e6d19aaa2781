import type { WriteOp } from '../datastore/types.js'
import type { Hooks } from '../hooks/registry.js'
import type { Logger } from '../logger.js'
import type { Workflow } from '../workflow.js'
import type { Clock } from './clock.js'
import type { Execution } from './execution.js'
import type { ParentRef, StepKind } from './records.js'
import type { EngineStore } from './store.js'

/** Limits on what one step or one run may store, in bytes of encoded JSON. */
export interface Limits {
  /** Largest encoded step result. @default 1 MiB */
  stepBytes: number
  /** Largest encoded state record. @default 1 MiB */
  stateBytes: number
}

/** Where ids and nonces come from (the simulation passes a seeded source so a seed replays exactly). */
export interface RandomSource {
  /** A random UUID. */
  uuid(): string
}

/** How an execution ended, as the engine is told. */
export type ExecutionOutcome = 'completed' | 'failed' | 'cancelled' | 'suspended' | 'released' | 'abandoned'

/** What an execution needs from its engine. */
export interface ExecutionDeps {
  engineId: string
  store: EngineStore
  clock: Clock
  hooks: Hooks
  log: Logger
  limits: Limits
  leaseMs: number
  retentionMs: number
  /** Retry delays up to this are waited in-process; longer ones suspend the run (a durable timer). */
  inlineRetryMs: number
  random: RandomSource
  /** Test hook: called after a step's work returned and before its commit. Throwing `SimulatedCrash` kills the engine. */
  beforeCommit?: (info: { runId: string; stepId: string; kind: StepKind }) => void
  /** The writes that create a child run of `invoke` (they commit with the parent's journal entry). */
  newChild(child: Workflow, input: unknown, childId: string, parent: ParentRef): Promise<WriteOp[]>
  /** Work became due here (a child run was created): poll soon. */
  wake(): void
  /** Cancels the children of a cancelled run (ids from its journal), then lets retention start. */
  cascade(runId: string): void
  /** Called once when the execution ends, however it ends (after its in-flight steps returned). */
  onEnd(exec: Execution, outcome: ExecutionOutcome): void
  isStopping(): boolean
}
