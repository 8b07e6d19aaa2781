// The store entries of finished runs, for writing a million of them in bulk (the run-list part).
//
// They are built by the engine's own transitions, `created` then `ended`
// (packages/core/src/engine/transitions.ts), imported from core's sources because @do-sdk/core
// does not export them: the run record, its index entries and its due entry are exactly what the
// engine writes for a run that started and ended, whatever the index layout is this week.
// `checkAgainstEngine` compares them, entry for entry, with runs the engine under test made
// through its public API, so a stale build (or a layout the two disagree on) fails the part
// instead of measuring something the engine never writes.
import { randomBytes } from 'node:crypto'
import { type Datastore, type Engine, jsonSerializer, type StoredError, type WriteOp } from '@do-sdk/core'
import { keys } from '../../packages/core/src/engine/keys.js'
import type { RunRecord } from '../../packages/core/src/engine/records.js'
import { created, ended, type TransitionContext } from '../../packages/core/src/engine/transitions.js'

export { keys as engineKeys }

/** A run that started at `createdAt` and ended `durationMs` later. */
export interface FinishedRun {
  id: string
  workflowId: string
  createdAt: number
  durationMs: number
  input: unknown
  /** Output of a completed run, or the error of a failed one. */
  outcome: { status: 'completed'; output: unknown } | { status: 'failed'; error: StoredError }
  /** The run's incarnation nonce (8 hex digits, as the engine makes them); random when absent. */
  nonce?: string
}

const DAY = 86_400_000
/** The engine's defaults (`lease: '5s'`, `retention: '7d'`). */
const ctxAt = (now: number): TransitionContext => ({ now, engineId: 'bench-bulk', leaseMs: 5_000, retentionMs: 7 * DAY })

/** The final record of a finished run, and the ops that leave the store as the engine would: `created` then `ended`, netted. */
export const finishedRun = (r: FinishedRun): { record: RunRecord; encoded: string; ops: WriteOp[] } => {
  const fields = {
    id: r.id,
    workflowId: r.workflowId,
    workflowVersion: '1',
    input: r.input,
    state: {},
    nonce: r.nonce ?? randomBytes(4).toString('hex'),
  }
  const start = created(fields, ctxAt(r.createdAt), true)
  const end = ended(start.record, ctxAt(r.createdAt + r.durationMs), r.outcome)
  // Two batches in a row leave the puts of both, minus what the second one drops.
  const net = new Map<string, WriteOp>()
  for (const op of [...start.put, ...end.put]) net.set(op.key, op)
  for (const op of end.drop) net.delete(op.key)
  const record = end.record
  const encoded = jsonSerializer.encode(record)
  return { record, encoded, ops: [...net.values(), { op: 'set', key: keys.run(r.id), value: encoded }] }
}

/** The fields of a `FinishedRun` read back from a record the engine wrote. */
const asFinished = (r: RunRecord): FinishedRun => ({
  id: r.id,
  workflowId: r.workflowId,
  createdAt: r.createdAt,
  durationMs: (r.finishedAt as number) - r.createdAt,
  input: r.input,
  outcome: r.status === 'failed' ? { status: 'failed', error: r.error as StoredError } : { status: 'completed', output: r.output },
  nonce: r.nonce,
})

/** JSON with object keys sorted: two records that differ only in field order compare equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  )

/** Every entry of a store but the engine's lock: key → value (records in canonical JSON). */
const entriesOf = async (store: Datastore): Promise<Map<string, string>> => {
  const out = new Map<string, string>()
  for (const e of await store.list('', {})) {
    if (e.key.startsWith('lock/')) continue
    out.set(e.key, e.key.startsWith('run/') ? canonical(JSON.parse(e.value)) : e.value)
  }
  return out
}

/**
 * Checks that `finishedRun` writes what `engine` writes: `runIds` are runs the engine made on
 * `store` (and ended) with nothing else in the store. Throws, naming the first difference.
 * Returns the engine's records, for their realistic payloads (the stored error and its stack).
 */
export const checkAgainstEngine = async (engine: Engine, store: Datastore, runIds: string[]): Promise<RunRecord[]> => {
  const actual = await entriesOf(store)
  const records: RunRecord[] = []
  const expected = new Map<string, string>()
  for (const id of runIds) {
    const got = await store.get(keys.run(id))
    if (!got) throw new Error(`run-entries: the engine made no record for run "${id}"`)
    const record = JSON.parse(got.value) as RunRecord
    records.push(record)
    for (const op of finishedRun(asFinished(record)).ops) {
      if (op.op !== 'set') continue
      expected.set(op.key, op.key.startsWith('run/') ? canonical(JSON.parse(op.value)) : op.value)
    }
  }
  const differ = (a: Map<string, string>, b: Map<string, string>) => [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k)
  if (differ(actual, expected).length || differ(expected, actual).length) {
    const only = differ
    throw new Error(
      `run-entries: the bulk entries differ from what the engine (${engine.engineId}) wrote; engine only: ${only(actual, expected).join(', ') || '-'}; bulk only: ${only(expected, actual).join(', ') || '-'}`,
    )
  }
  return records
}
