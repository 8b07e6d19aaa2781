import type { WriteOp } from '../datastore/types.js'
import { InvalidArgumentError, RunNotFoundError } from '../errors.js'
import type { Workflow } from '../workflow.js'
import { keys } from './keys.js'
import type { JournalEntry } from './records.js'
import type { Runs } from './runs.js'
import type { EngineStore } from './store.js'

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
