import type { WriteOp } from '../datastore/types.js'
import { InvalidArgumentError, RunNotFoundError, WorkflowNotFoundError } from '../errors.js'
import { assertId, timeOrderedUuid } from '../ids.js'
import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import { keys } from './keys.js'
import type { JournalEntry } from './records.js'
import type { Runs } from './runs.js'
import type { EngineStore } from './store.js'
import type { WorkflowRegistry } from './workflow-registry.js'

/** Options of `engine.fork`. */
export interface ForkOptions {
  /**
   * The first step to run again, e.g. `'charge#1'`: the steps the source run finished before it are
   * reused as they are, it and everything after run on today's code.
   */
  fromStep: string
  /** Input of the new run. @default the source run's input */
  input?: unknown
  /** Id of the new run. @default `${sourceId}:fork:${uuid}` */
  id?: string
}

/**
 * The writes of a fork: a new run whose journal holds the source run's finished steps up to
 * `fromStep` (their results, as they were), then nothing. Steps the source had started but not
 * finished start afresh; a child run it had started is not shared (the fork starts its own).
 */
export const forkWrites = async (
  store: EngineStore,
  runs: Runs,
  sourceId: string,
  wf: Workflow,
  options: ForkOptions,
  newId: string,
  input: unknown,
): Promise<{ ops: WriteOp[]; journal: WriteOp[] }> => {
  const source = await runs.read(sourceId)
  if (!source) throw new RunNotFoundError(sourceId)
  const entries = (await store.listAll(keys.journalPrefix(sourceId, source.record.nonce))).map((e) => store.decode<JournalEntry>(e, e.key))
  const cut = entries.find((e) => e.id === options.fromStep)
  if (!cut)
    throw new InvalidArgumentError(
      `engine.fork: run "${sourceId}" has no step "${options.fromStep}" (its steps: ${[...new Set(entries.map((e) => e.id))].join(', ') || 'none'})`,
    )
  const kept = entries.filter((e) => e.seq < cut.seq && (e.status === 'done' || e.status === 'failed'))
  const { ops, record } = await runs.create(wf, input, newId, undefined, false)
  const journal = kept.map(
    (e): WriteOp => ({
      op: 'set',
      key: keys.journal(newId, record.nonce, e.seq),
      value: store.encodeEntry({ ...e, gen: 0 }, undefined),
    }),
  )
  return { ops, journal }
}

/**
 * `engine.fork`: checks the options, parses a new input with the workflow's schema, writes the new
 * run in one batch (nothing when anything is wrong) and says which run it made.
 */
export const forkRun = async (
  store: EngineStore,
  runs: Runs,
  workflows: WorkflowRegistry,
  runId: string,
  options: ForkOptions,
  now: number,
): Promise<{ id: string; workflowId: string }> => {
  if (!options || typeof options.fromStep !== 'string')
    throw new InvalidArgumentError('engine.fork(runId, { fromStep }) needs the step to run again')
  const source = await runs.mustRead(assertId(runId, 'run id'))
  const wf = workflows.latest(source.record.workflowId)
  if (!wf)
    throw new WorkflowNotFoundError(`Workflow "${source.record.workflowId}" is not registered with this engine`, source.record.workflowId)
  const input =
    options.input === undefined ? source.record.input : await parseWith(wf.inputSchema, options.input, `input of workflow "${wf.id}"`)
  const id = options.id === undefined ? `${runId}:fork:${timeOrderedUuid(now)}` : assertId(options.id, 'run id')
  const { ops, journal } = await forkWrites(store, runs, runId, wf, options, id, input)
  const res = await store.batch([...journal, ...ops])
  if (!res.ok) throw new InvalidArgumentError(`engine.fork: a run "${id}" exists already`)
  return { id, workflowId: wf.id }
}
