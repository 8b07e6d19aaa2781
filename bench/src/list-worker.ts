// The run-list part, one step per process (driven by list-part.ts):
//   populate  adds finished runs of two workflows to a store, ~2 % failed, in bulk (run-entries.ts),
//             and the same runs to the tables a user would write by hand (SQLite table, Redis keys)
//   measure   a fresh engine on that store: engine.listRuns / countRuns against raw queries, interleaved
// Prints one line `RESULT {json}`.
import { createEngine, type Datastore, memoryStore, NonRetryableError, type StoredError, silentLogger, workflow } from '@do-sdk/core'
import { runAsChild } from './child.js'
import { type RawLister, type RunsTable, rawListers, runsTable, type TableRow } from './list-raw.js'
import { median, percentile } from './measure.js'
import { checkAgainstEngine, type FinishedRun, finishedRun } from './run-entries.js'
import { openStore, type StoreSpec } from './stores.js'

export type ListTask =
  | { mode: 'populate'; store: StoreSpec; table: RunsTable; from: number; count: number; newest: number }
  | { mode: 'measure'; store: StoreSpec; table: RunsTable; rounds: number; countRounds: number }

export const WORKFLOWS = ['orders', 'emails'] as const
/** Spacing of the runs' creation times: a million runs span 16.7 hours, well inside the 7-day retention. */
const GAP_MS = 60

const input = (k: number) => ({ orderId: k, customer: `cus_${(k * 7919) % 100_000}` })
const runOf = (k: number) => ({ workflowId: WORKFLOWS[k % 2] as string, failed: Math.floor(k / 2) % 50 === 25 })

/** The two workflows, for the engine check (they fail when told to) and for the measuring engine. */
const definitions = WORKFLOWS.map((id) =>
  workflow.create({
    id,
    run: async ({ input: i }: { input: { fail?: boolean } }) => {
      if (i.fail) throw new NonRetryableError('card declined')
      return { ok: true }
    },
  }),
)

/** Runs made through the engine on a scratch store, compared with the bulk entries; their stored error is reused. */
const engineTemplate = async (): Promise<StoredError> => {
  const store = memoryStore()
  const engine = createEngine({ store, workflows: definitions, logger: silentLogger })
  await engine.start()
  const ids: string[] = []
  for (const [i, wf] of definitions.entries()) {
    for (const fail of [false, true]) {
      const run = await engine.trigger(wf, { ...input(i), fail }, { id: `check-${wf.id}-${fail}` })
      await run.result().catch(() => {})
      ids.push(run.id)
    }
  }
  await engine.stop()
  const records = await checkAgainstEngine(engine, store, ids)
  return records.find((r) => r.status === 'failed')?.error as StoredError
}

const populate = async (task: Extract<ListTask, { mode: 'populate' }>) => {
  const error = await engineTemplate()
  const store = openStore(task.store)
  const table = await runsTable(task.table)
  const CHUNK = 500
  let ops = 0
  const t0 = performance.now()
  const write = async (from: number, to: number) => {
    const batch = []
    const rows: TableRow[] = []
    for (let k = from; k < to; k++) {
      const { workflowId, failed } = runOf(k)
      const run: FinishedRun = {
        id: `${workflowId}:bulk-${String(k).padStart(8, '0')}`,
        workflowId,
        createdAt: task.newest - k * GAP_MS,
        durationMs: 20 + (k % 200),
        input: input(k),
        outcome: failed ? { status: 'failed', error } : { status: 'completed', output: { ok: true } },
      }
      const made = finishedRun(run)
      batch.push(...made.ops)
      rows.push({ id: run.id, workflowId, status: made.record.status, createdAt: run.createdAt, record: made.encoded })
    }
    ops += batch.length
    const res = await store.batch(batch)
    if (!res.ok) throw new Error(`populate: a batch conflicted on ${res.conflictKey}`)
    await table.insert(rows)
  }
  // A few batches in flight: the SQLite store commits those of one event-loop turn together.
  const end = task.from + task.count
  const inFlight: Promise<void>[] = []
  for (let k = task.from; k < end; k += CHUNK) {
    inFlight.push(write(k, Math.min(end, k + CHUNK)))
    if (inFlight.length === 4) await Promise.all(inFlight.splice(0))
  }
  await Promise.all(inFlight)
  const ms = performance.now() - t0
  await table.close()
  await store.close?.()
  return { created: task.count, ms, perSecond: task.count / (ms / 1000), entriesPerRun: ops / task.count }
}

export interface ProbeTiming {
  /** Median ms of the calls, and their p90. */
  ms: number
  p90: number
  /** What one call returned (runs listed, or the count). */
  result: number
}

const measure = async (task: Extract<ListTask, { mode: 'measure' }>) => {
  const store: Datastore = openStore(task.store)
  const engine = createEngine({ store, workflows: definitions, logger: silentLogger })
  await engine.start()
  const table = await runsTable(task.table)
  const raw: RawLister = await rawListers(task.store)
  const wf = WORKFLOWS[0]
  const listProbes = {
    engine: async () => (await engine.listRuns({ workflowId: wf, status: 'failed', limit: 50 })).runs.length,
    rawKeys: () => raw.indexKeys(wf, 'failed', 50),
    rawRecords: () => raw.indexRecords(wf, 'failed', 50),
    table: () => table.list(wf, 'failed', 50),
    engineWorkflow: async () => (await engine.listRuns({ workflowId: wf, limit: 50 })).runs.length,
    engineStatus: async () => (await engine.listRuns({ status: 'failed', limit: 50 })).runs.length,
  }
  const countProbes = {
    engine: () => engine.countRuns({ workflowId: wf, status: 'failed' }),
    rawIndex: () => raw.countIndex(wf, 'failed'),
    table: () => table.count(wf, 'failed'),
    engineWorkflow: () => engine.countRuns({ workflowId: wf }),
    engineAll: () => engine.countRuns(),
  }
  /** Rounds of one call per probe, interleaved (drift of the machine hits every probe alike); 5 warm-up rounds first. */
  const timeAll = async <K extends string>(probes: Record<K, () => Promise<number>>, rounds: number) => {
    const names = Object.keys(probes) as K[]
    const samples = names.map(() => [] as number[])
    const results = names.map(() => 0)
    for (let r = -5; r < rounds; r++) {
      for (const [i, name] of names.entries()) {
        const t0 = performance.now()
        results[i] = await probes[name]()
        if (r >= 0) samples[i]?.push(performance.now() - t0)
      }
    }
    const out = {} as Record<K, ProbeTiming>
    for (const [i, name] of names.entries()) {
      const xs = samples[i] as number[]
      out[name] = { ms: median(xs), p90: percentile(xs, 90), result: results[i] as number }
    }
    return out
  }
  const list = await timeAll(listProbes, task.rounds)
  const count = await timeAll(countProbes, task.countRounds)
  await raw.close()
  await table.close()
  await engine.stop()
  await store.close?.()
  return { list, count }
}

export type ListResult = Awaited<ReturnType<typeof measure>>

const main = async () => {
  const task = JSON.parse(process.argv[2] as string) as ListTask
  const result = task.mode === 'populate' ? await populate(task) : await measure(task)
  return result
}

void runAsChild(main)
