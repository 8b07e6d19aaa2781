// The flow-control part (`--parts=flow`): what a concurrency key costs per run (the workload with
// and without `concurrency: { key: (i) => i.user, limit: 1 }`, each in a fresh process through
// case.ts), and how fast 10,000 schedules due at once become runs (flow-worker.ts).
import { join } from 'node:path'
import type { CaseConfig, CaseResult } from './case.js'
import { runChild } from './child.js'
import type { ScheduleResult, ScheduleTask } from './flow-worker.js'
import { int, sig, table, times, withSpread } from './format.js'
import { median } from './measure.js'
import type { StoreKind } from './scale.js'

export interface FlowOptions {
  smoke: boolean
  reps: number
  dir: string
  redisUrl?: string
  /** Empties Redis before a Redis case. */
  flushRedis: () => Promise<void>
  log: (line: string) => void
}

type KeyStore = 'memory' | StoreKind
const LABEL: Record<KeyStore, string> = { memory: 'memory', sqlite: 'SQLite', redis: 'Redis' }

export interface KeyRow {
  store: KeyStore
  plain: CaseResult
  keys: CaseResult
  hot: CaseResult
}

export interface FlowResults {
  keys: KeyRow[]
  schedules: (ScheduleResult & { store: StoreKind })[]
}

const config = (o: FlowOptions, subject: string, hot: boolean): CaseConfig => ({
  subject,
  redisUrl: o.redisUrl,
  seqRuns: o.smoke ? 10 : 500,
  seqWarmup: o.smoke ? 3 : 100,
  // One hot key drains one run at a time (each started when the last let its slot go): 1,000 runs, one repetition.
  tputRuns: hot ? (o.smoke ? 4 : 1_000) : o.smoke ? 20 : 2_000,
  concurrency: 50,
  reps: hot ? 1 : o.reps,
  parts: hot ? ['tput'] : ['seq', 'tput'],
})

export const runFlow = async (o: FlowOptions): Promise<FlowResults> => {
  const out: FlowResults = { keys: [], schedules: [] }
  const stores: KeyStore[] = ['memory', 'sqlite', ...(o.redisUrl ? (['redis'] as const) : [])]
  for (const store of stores) {
    const id = `do-${store}`
    const run = async (subject: string, hot = false) => {
      if (store === 'redis') await o.flushRedis()
      o.log(`flow: ${subject}`)
      return runChild<CaseResult>('case.ts', config(o, subject, hot), { timeoutMs: 900_000 })
    }
    out.keys.push({ store, plain: await run(id), keys: await run(`${id}-keys`), hot: await run(`${id}-hot-key`, true) })
  }
  for (const store of stores.filter((s): s is StoreKind => s !== 'memory')) {
    if (store === 'redis') await o.flushRedis()
    const task: ScheduleTask = {
      store:
        store === 'sqlite'
          ? { kind: 'sqlite', path: join(o.dir, 'schedules.db') }
          : { kind: 'redis', url: o.redisUrl as string, namespace: 'bench-schedules' },
      schedules: o.smoke ? 100 : 10_000,
    }
    o.log(`flow: ${int(task.schedules)} schedules due at once on ${store}`)
    out.schedules.push({ store, ...(await runChild<ScheduleResult>('flow-worker.ts', task, { timeoutMs: 1_800_000 })) })
  }
  return out
}

export const keysTable = (rows: KeyRow[]) =>
  table(
    [
      'store',
      'no key: ms / workflow, workflows / s',
      'a key per user, distinct users: ms / workflow, workflows / s',
      'distinct keys ÷ no key: latency, throughput',
      'one hot key: workflows / s (1,000 at c=50)',
      'hot key ÷ no key: throughput',
    ],
    rows.map((r) => [
      LABEL[r.store],
      `${withSpread(r.plain.seq, sig)}, ${withSpread(r.plain.tput, int)}`,
      `${withSpread(r.keys.seq, sig)}, ${withSpread(r.keys.tput, int)}`,
      `${times(median(r.keys.seq) / median(r.plain.seq))}, ${times(median(r.keys.tput) / median(r.plain.tput))}`,
      sig(median(r.hot.tput)),
      times(median(r.hot.tput) / median(r.plain.tput)),
    ]),
  )

export const schedulesTable = (rows: FlowResults['schedules']) =>
  table(
    [
      'store',
      'schedules',
      'created at (schedules / s)',
      'all due at once: every run created after (s), ticks / s',
      'every run completed after (s), runs / s',
      'the same runs triggered: completed after (s), runs / s',
      'scheduled ÷ triggered (runs / s)',
    ],
    rows.map((r) => [
      LABEL[r.store],
      int(r.schedules),
      int(r.createPerSecond),
      `${sig(r.tickMs / 1000)}, ${int(r.schedules / (r.tickMs / 1000))}`,
      `${sig(r.completeMs / 1000)}, ${int(r.schedules / (r.completeMs / 1000))}`,
      `${sig(r.triggerMs / 1000)}, ${int(r.schedules / (r.triggerMs / 1000))}`,
      times(r.triggerMs / r.completeMs),
    ]),
  )

/** Runs the part and prints its section; resolves with the results, or the error (printed too). */
export const flowSection = async (o: FlowOptions, print: (line?: string) => void): Promise<FlowResults | { error: string }> => {
  try {
    const results = await runFlow(o)
    print('## Flow control: a concurrency key per run (the workload, `concurrency: { key: (i) => i.user, limit: 1 }`)')
    print()
    print(keysTable(results.keys))
    print()
    print('## Schedules: all due at once (`every: 1h`, the clock moved an hour), the 3-step workload')
    print()
    print(schedulesTable(results.schedules))
    print()
    return results
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    print('## Flow control and schedules')
    print()
    print(`flow: error: ${message.replace(/\s+/g, ' ').slice(0, 200)}`)
    print()
    return { error: message }
  }
}
