import { DoSdkError, type NonDeterminismError, toError } from '../errors.js'
import { Hooks } from '../hooks/registry.js'
import { silentLogger } from '../logger.js'
import type { Workflow } from '../workflow.js'
import { RunContext } from './contexts.js'
import { ExecutionCore } from './execution-core.js'
import type { ExecutionDeps } from './execution-deps.js'
import { initialStateOf } from './initial-state.js'
import { keys, runIdOfIndexKey } from './keys.js'
import { prefixesFor } from './queries.js'
import type { JournalEntry, RunRecord, RunStatus } from './records.js'
import { ReplayCursor } from './replay-cursor.js'
import { buildStep } from './steps/build.js'
import type { EngineStore } from './store.js'

/** One run that would not replay on the given code. */
export interface ReplayFailure {
  runId: string
  workflowId: string
  version: string
  /** The step the code reached (or the journaled step it never reached). */
  stepId?: string
  /** The step the journal has at that point. */
  journalStepId?: string
  message: string
}

/** What `engine.replayCheck` found. */
export interface ReplayCheckReport {
  /** Unfinished runs whose journal was replayed. */
  checked: number
  failures: ReplayFailure[]
  ok: boolean
}

/** Options of `engine.replayCheck`. */
export interface ReplayCheckOptions {
  /** The code to check (every version still in flight). @default the engine's workflows */
  workflows?: Workflow[]
  /** At most this many runs. @default all */
  limit?: number
  /** How long one run's replay may take before it counts as a failure, ms. @default 10_000 */
  timeoutMs?: number
}

const UNFINISHED: RunStatus[] = ['pending', 'running', 'sleeping', 'waiting']

/**
 * An execution that only replays: its steps never start, nothing is written, no event is emitted.
 * It resolves once the journal is handed back whole (the code fits) or the code diverges.
 */
class ReplayProbe extends ExecutionCore {
  private settle!: (error: NonDeterminismError | undefined) => void
  readonly result = new Promise<NonDeterminismError | undefined>((resolve) => (this.settle = resolve))
  private returned = false

  override get live(): boolean {
    return false
  }

  async run(entries: JournalEntry[]) {
    this.cursor = new ReplayCursor(entries, this.record)
    this.handover = this.newHandover()
    this.phase = 'replaying'
    this.state = await initialStateOf(this.workflow, this.record.input, this.deps.store)
    const ctx = new RunContext(
      this,
      this.record.input,
      this.state,
      buildStep(this),
      this.runId,
      this.workflow.id,
      this.workflow.version,
      silentLogger,
    )
    Promise.resolve()
      .then(() => this.workflow.run(ctx))
      .then(
        () => (this.returned = true),
        () => (this.returned = true),
      )
    this.quiet.request()
  }

  protected override onQuiet() {
    if (this.phase !== 'replaying') return
    const step = this.handover.replayNext(this.returned)
    if (step === 'handed') return this.quiet.request()
    if (step === 'done') {
      this.phase = 'closed'
      this.settle(undefined)
    }
  }

  protected override diverged(error: NonDeterminismError) {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.settle(error)
  }
}

/**
 * Replays the journal of every unfinished run against the given code, without running a step or
 * writing anything, and reports each run that would stop with a `NonDeterminismError`.
 */
export const replayCheck = async (store: EngineStore, deps: ExecutionDeps, options: ReplayCheckOptions, known: Workflow[]) => {
  const byVersion = new Map<string, Workflow>()
  for (const wf of options.workflows ?? known) byVersion.set(`${wf.id}@${wf.version}`, wf)
  const quiet: ExecutionDeps = { ...deps, hooks: new Hooks(silentLogger), log: silentLogger, beforeCommit: undefined }
  const failures: ReplayFailure[] = []
  let checked = 0
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  for (const { prefix, status } of await prefixesFor(store, undefined, UNFINISHED)) {
    for (let after: string | undefined; checked < limit; ) {
      const page = await store.list(prefix, { after, limit: 200 })
      for (const entry of page) {
        if (checked >= limit) break
        const runId = runIdOfIndexKey(entry.key, prefix)
        const got = await store.get(keys.run(runId))
        if (!got) continue
        const record = store.decode<RunRecord>(got, keys.run(runId))
        if (record.status !== status) continue
        checked++
        const base = { runId, workflowId: record.workflowId, version: record.workflowVersion }
        const wf = byVersion.get(`${record.workflowId}@${record.workflowVersion}`)
        if (!wf) {
          failures.push({ ...base, message: `no code for workflow "${record.workflowId}" version "${record.workflowVersion}"` })
          continue
        }
        const entries = (await store.listAll(keys.journalPrefix(runId, record.nonce))).map((e) => store.decode<JournalEntry>(e, e.key))
        const probe = new ReplayProbe(quiet, wf, record, got.version)
        let timer: NodeJS.Timeout | undefined
        const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 10_000)))
        try {
          await probe.run(entries)
          const error = await Promise.race([probe.result, timedOut])
          if (error === 'timeout')
            failures.push({ ...base, message: 'the replay did not settle (the workflow awaits something that is not a step?)' })
          else if (error)
            failures.push({
              ...base,
              message: error.message,
              stepId: error.stepId,
              ...(error.journalStepId ? { journalStepId: error.journalStepId } : {}),
            })
        } catch (error) {
          failures.push({ ...base, message: DoSdkError.isInstance(error) ? error.message : toError(error).message })
        } finally {
          clearTimeout(timer)
        }
      }
      if (page.length < 200) break
      after = page[page.length - 1]?.key
    }
  }
  return { checked, failures, ok: failures.length === 0 }
}
