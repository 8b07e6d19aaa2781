// The run-list part (`--parts=list`): finished runs of two workflows (~2 % failed) written in bulk
// into a store, then a fresh engine lists and counts them, against raw queries on the same data.
// Drives list-worker.ts, one process per step; each size adds runs to the same store.
import { join } from 'node:path'
import { runChild } from './child.js'
import { int, sig, table, times } from './format.js'
import type { RunsTable } from './list-raw.js'
import type { ListResult, ListTask } from './list-worker.js'
import { mb } from './measure.js'
import { fileSize, type StoreKind } from './scale.js'
import type { StoreSpec } from './stores.js'

export interface ListOptions {
  stores: StoreKind[]
  /** Numbers of runs, ascending; each size adds runs to the same store. */
  sizes: number[]
  dir: string
  redisUrl?: string
  rounds: number
  log: (line: string) => void
}

export interface ListRow {
  store: StoreKind
  size: number
  populatePerSecond: number
  entriesPerRun: number
  storeBytes?: number
  list: ListResult['list']
  count: ListResult['count']
}

/** At most this many runs per populate process (a fresh heap for every chunk). */
const POPULATE_CHUNK = 250_000

const LABEL: Record<StoreKind, string> = { sqlite: 'SQLite', redis: 'Redis' }

const worker = <T>(task: ListTask) => runChild<T>('list-worker.ts', task, { timeoutMs: 3_600_000 })

export const runList = async (o: ListOptions): Promise<ListRow[]> => {
  const rows: ListRow[] = []
  for (const kind of o.stores) {
    if (kind === 'redis' && !o.redisUrl) throw new Error('Redis is needed for the Redis run-list measurements')
    const store: StoreSpec =
      kind === 'sqlite' ? { kind, path: join(o.dir, 'list.db') } : { kind, url: o.redisUrl as string, namespace: 'list' }
    const runs: RunsTable =
      kind === 'sqlite' ? { kind, path: join(o.dir, 'list-table.db') } : { kind, url: o.redisUrl as string, prefix: 'bench-table' }
    // Runs are created before this time, newest first, 60 ms apart (list-worker.ts).
    const newest = Date.now() - 60_000
    let have = 0
    let ms = 0
    for (const size of o.sizes) {
      o.log(`list: ${kind}, writing ${int(size - have)} finished runs`)
      let entriesPerRun = 0
      const made = size - have
      while (have < size) {
        const count = Math.min(POPULATE_CHUNK, size - have)
        const pop = await worker<{ ms: number; entriesPerRun: number }>({ mode: 'populate', store, table: runs, from: have, count, newest })
        have += count
        ms += pop.ms
        entriesPerRun = pop.entriesPerRun
      }
      o.log(`list: ${kind}, ${int(size)} runs: a fresh engine lists and counts them`)
      const measured = await worker<ListResult>({
        mode: 'measure',
        store,
        table: runs,
        rounds: o.rounds,
        countRounds: Math.max(5, Math.floor(o.rounds / 3)),
      })
      rows.push({
        store: kind,
        size,
        populatePerSecond: made / (ms / 1000),
        entriesPerRun,
        storeBytes: store.kind === 'sqlite' ? fileSize(store.path) : undefined,
        ...measured,
      })
      ms = 0
    }
  }
  return rows
}

export const listTable = (rows: ListRow[]) =>
  table(
    [
      'store',
      'finished runs (written at runs/s, entries per run)',
      'engine.listRuns({ workflowId, status: failed, limit: 50 }) ms, median (p90)',
      'raw: index keys only',
      'raw: index + records, parsed',
      'raw: table of runs, parsed',
      'listRuns ÷ raw index + records',
      'listRuns ÷ table of runs',
      'listRuns({ workflowId }) / ({ status: failed })',
    ],
    rows.map((r) => {
      const engine = r.list.engine
      return [
        LABEL[r.store],
        `${int(r.size)} (${int(r.populatePerSecond)}/s, ${sig(r.entriesPerRun)}${r.storeBytes ? `, ${mb(r.storeBytes)} MB` : ''})`,
        `${sig(engine.ms)} (${sig(engine.p90)})`,
        sig(r.list.rawKeys.ms),
        sig(r.list.rawRecords.ms),
        sig(r.list.table.ms),
        times(engine.ms / r.list.rawRecords.ms),
        times(engine.ms / r.list.table.ms),
        `${sig(r.list.engineWorkflow.ms)} / ${sig(r.list.engineStatus.ms)}`,
      ]
    }),
  )

export const countTable = (rows: ListRow[]) =>
  table(
    [
      'store',
      'finished runs',
      'engine.countRuns({ workflowId, status: failed }) ms (count)',
      'raw: count of the index range',
      'raw: count in the table of runs',
      'countRuns ÷ raw index count',
      'countRuns({ workflowId }) ms (count)',
      'countRuns() ms (count)',
    ],
    rows.map((r) => {
      const engine = r.count.engine
      return [
        LABEL[r.store],
        int(r.size),
        `${sig(engine.ms)} (${int(engine.result)})`,
        sig(r.count.rawIndex.ms),
        sig(r.count.table.ms),
        times(engine.ms / r.count.rawIndex.ms),
        `${sig(r.count.engineWorkflow.ms)} (${int(r.count.engineWorkflow.result)})`,
        `${sig(r.count.engineAll.ms)} (${int(r.count.engineAll.result)})`,
      ]
    }),
  )

/** Runs the part and prints its section; resolves with the rows, or the error (printed too). */
export const listSection = async (o: ListOptions, print: (line?: string) => void): Promise<ListRow[] | { error: string }> => {
  print('## Run list: engine.listRuns and countRuns on finished runs, against raw queries on the same data')
  print()
  try {
    const rows = await runList(o)
    print(listTable(rows))
    print()
    print(countTable(rows))
    print()
    return rows
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    print(`list: error: ${message.replace(/\s+/g, ' ').slice(0, 200)}`)
    print()
    return { error: message }
  }
}
