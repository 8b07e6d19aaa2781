import type { JournalEntry, PendingReason, RunRecord, RunStatus, StepKind, StoredError } from './records.js'

/** One step of a run, as `engine.getRun` shows it. */
export interface StepInfo {
  id: string
  kind: StepKind
  status: 'completed' | 'failed' | 'retrying' | 'sleeping' | 'waiting' | 'running'
  /** Attempts made (action and fn steps). */
  attempts?: number
  output?: unknown
  error?: StoredError
  /** Unix ms of the step's first journal entry. */
  startedAt: number
  /** Unix ms of its completion. */
  completedAt?: number
  /** Wake-up time (sleep), deadline (wait) or next attempt (retrying), Unix ms. */
  until?: number
  childId?: string
}

/** A run, as `engine.getRun` returns it. */
export interface RunInfo<TOutput = unknown, TState = unknown, TInput = unknown> {
  id: string
  workflowId: string
  version: string
  status: RunStatus
  input: TInput
  state: TState
  output?: TOutput
  error?: StoredError
  steps: StepInfo[]
  /** The step the run is at. */
  currentStep?: string
  createdAt: number
  updatedAt: number
  finishedAt?: number
  /** When a sleeping run wakes (Unix ms). */
  wakeAt?: number
  /** Events a waiting run waits for. */
  waitingFor?: string[]
  parentId?: string
  /** Engine instance executing the run now, if any. */
  owner?: string
  /** Times `engine.retry` was used on this run. */
  retries: number
  /** Why a `pending` run has not started: flow control (a concurrency key at its limit, a throttle, a debounce). */
  pendingReason?: PendingReason
  /** The run's `priority`, when its workflow has one. */
  priority?: number
  /** The schedule that started it, and the tick (Unix ms). */
  schedule?: { id: string; tickAt: number }
}

const stepStatus = (e: JournalEntry): StepInfo['status'] => {
  if (e.status === 'done') return 'completed'
  if (e.status === 'failed') return 'failed'
  if (e.status === 'retrying') return 'retrying'
  if (e.kind === 'sleep') return 'sleeping'
  if (e.kind === 'wait' || e.kind === 'invoke') return 'waiting'
  return 'running'
}

/** Folds journal entries (in commit order) into one line per step. */
export const toRunInfo = (record: RunRecord, entries: JournalEntry[]): RunInfo => {
  const steps = new Map<string, StepInfo>()
  const sorted = [...entries].sort((a, b) => a.seq - b.seq)
  for (const e of sorted) {
    const prev = steps.get(e.id)
    const info: StepInfo = {
      id: e.id,
      kind: e.kind,
      status: stepStatus(e),
      startedAt: prev?.startedAt ?? (e.ms !== undefined ? e.at - e.ms : e.at),
    }
    if (e.attempt !== undefined) info.attempts = e.attempt
    if (e.status === 'done' && e.value !== undefined) info.output = e.value
    if (e.error) info.error = e.error
    if (e.status === 'done' || e.status === 'failed') info.completedAt = e.at
    const until = e.status === 'retrying' ? e.nextAttemptAt : e.until
    if (until !== undefined) info.until = until
    const childId = e.childId ?? prev?.childId
    if (childId) info.childId = childId
    steps.set(e.id, info)
  }
  const info: RunInfo = {
    id: record.id,
    workflowId: record.workflowId,
    version: record.workflowVersion,
    status: record.status,
    input: record.input,
    state: record.state,
    steps: [...steps.values()],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    retries: record.generation,
  }
  // A running run's record is rewritten only when it changes status or state: its latest journal
  // entry says which step it is at, and when it last moved.
  const last = sorted[sorted.length - 1]
  if (last && last.at >= record.updatedAt) {
    info.updatedAt = last.at
    if (!record.finishedAt) info.currentStep = last.id
  }
  if (record.output !== undefined) info.output = record.output
  if (record.error) info.error = record.error
  if (record.currentStep && !info.currentStep) info.currentStep = record.currentStep
  if (record.finishedAt !== undefined) info.finishedAt = record.finishedAt
  if (record.wakeAt !== undefined) info.wakeAt = record.wakeAt
  if (record.waitingFor) info.waitingFor = record.waitingFor
  if (record.parent) info.parentId = record.parent.runId
  if (record.owner) info.owner = record.owner
  if (record.pendingReason && record.status === 'pending') info.pendingReason = record.pendingReason
  if (record.priority !== undefined) info.priority = record.priority
  if (record.schedule) info.schedule = record.schedule
  return info
}
