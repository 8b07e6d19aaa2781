import type { Hooks } from '../hooks/registry.js'
import type { Logger } from '../logger.js'
import type { Workflow } from '../workflow.js'
import type { Clock } from './clock.js'
import type { Execution } from './execution.js'
import type { StepKind } from './records.js'
import type { EngineStore } from './store.js'

/** Limits on what one step or one run may store, in bytes of encoded JSON. */
export interface Limits {
  /** Largest encoded step result. @default 1 MiB */
  stepBytes: number
  /** Largest encoded state record. @default 1 MiB */
  stateBytes: number
}

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
  /** Test hook: called after a step's work returned and before its commit. Throwing `SimulatedCrash` kills the engine. */
  beforeCommit?: (info: { runId: string; stepId: string; kind: StepKind }) => void
  /** Creates (idempotently) a child run of `invoke`. */
  startChild(child: Workflow, input: unknown, childId: string, parent: { runId: string; stepId: string }): Promise<void>
  /** Asks for the cancellation of a run (children of a cancelled run). */
  cancelRun(runId: string, reason: string): Promise<void>
  /** Called once when the execution ends, however it ends. */
  onEnd(exec: Execution, outcome: 'completed' | 'failed' | 'cancelled' | 'suspended' | 'abandoned'): void
  isStopping(): boolean
}
