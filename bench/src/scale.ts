// The scale and resume parts: drives scale-worker.ts, one fresh process per measurement.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { createClient } from '@redis/client'
import { runChild } from './child.js'
import { int, sig, table, yesNo } from './format.js'
import { mb } from './measure.js'
import type { StoreSpec, WorkerTask } from './scale-worker.js'

export type StoreKind = 'sqlite' | 'redis'

export interface ScaleOptions {
  stores: StoreKind[]
  /** Numbers of sleeping runs, ascending; each size adds runs to the same store. */
  sizes: number[]
  /** Short timers fired during each probe, spread over `spreadMs`, the first `leadMs` after start. */
  timers: number
  spreadMs: number
  leadMs: number
  resumeSteps: number[]
  dir: string
  redisUrl?: string
  /** Measure the stores at the same time (smoke mode only: they would disturb each other's timings). */
  parallel?: boolean
  log: (line: string) => void
}

interface ProbeResult {
  startMs: number
  rssAfterStart: number
  heapAfterStart: number
  rss: number
  heapUsed: number
  timers: number
  lateP50: number
  lateP99: number
  lateMax: number
  /** Store reads (get, getMany, list) per timer while the timers fired. */
  readsPerTimer: number
}
interface PopulateResult {
  created: number
  ms: number
  perSecond: number
  rss: number
  heapUsed: number
}
export interface ScaleRow extends ProbeResult {
  store: StoreKind
  size: number
  populatePerSecond?: number
  /** The engine that created this size's new runs: RSS and heap after a full GC. */
  populateRss?: number
  populateHeap?: number
  populateCount?: number
  storeBytes?: number
}
export interface ResumeRow {
  store: StoreKind
  steps: number
  createMs: number
  ms: number
  loadMs: number
  replayMs: number
  reads: number
  rows: number
  writes: number
}

const GC = ['--expose-gc', '--max-old-space-size=8192']
const POPULATE_CHUNK = 100_000
const worker = <T>(task: WorkerTask, timeoutMs = 1_800_000) => runChild<T>('scale-worker.ts', task, { nodeArgs: GC, timeoutMs })

const spec = (kind: StoreKind, name: string, o: ScaleOptions): StoreSpec => {
  if (kind === 'sqlite') return { kind, path: join(o.dir, `${name}.db`) }
  if (!o.redisUrl) throw new Error('Redis is needed for the Redis scale measurements')
  return { kind, url: o.redisUrl, namespace: name }
}

/** A SQLite file's size on disk, its WAL included. */
export const fileSize = (path: string) => {
  let total = 0
  for (const f of [path, `${path}-wal`]) {
    try {
      total += statSync(f).size
    } catch {}
  }
  return total
}

const redisUsedMemory = async (url: string) => {
  const client = createClient({ url })
  await client.connect()
  try {
    const info = await client.info('memory')
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN)
  } finally {
    await client.close()
  }
}

const storeBytes = async (s: StoreSpec) => (s.kind === 'sqlite' ? fileSize(s.path) : redisUsedMemory(s.url))

/** Runs `fn` for each store, one after the other, or all at once (smoke mode: timings mean nothing there). */
const perStore = async <T>(o: ScaleOptions, fn: (kind: StoreKind) => Promise<T[]>): Promise<T[]> =>
  (o.parallel
    ? await Promise.all(o.stores.map(fn))
    : await o.stores.reduce<Promise<T[][]>>(async (acc, kind) => [...(await acc), await fn(kind)], Promise.resolve([]))
  ).flat()

export const runScale = (o: ScaleOptions): Promise<ScaleRow[]> =>
  perStore(o, async (kind) => {
    const rows: ScaleRow[] = []
    const s = spec(kind, 'scale', o)
    const probeTask: WorkerTask = { mode: 'probe', store: s, timers: o.timers, spreadMs: o.spreadMs, leadMs: o.leadMs }
    o.log(`scale: ${kind}, empty store`)
    rows.push({ store: kind, size: 0, ...(await worker<ProbeResult>(probeTask)), storeBytes: await storeBytes(s) })
    let have = 0
    for (const size of o.sizes) {
      o.log(`scale: ${kind}, adding ${int(size - have)} sleeping runs`)
      // At most 100,000 new runs per process: the creating engine's heap grows with every run it
      // suspended (see docs/benchmarks.md), and a million would measure its GC, not the store.
      let pop: PopulateResult | undefined
      let made = 0
      let ms = 0
      let lastCount = 0
      while (have < size) {
        const count = Math.min(POPULATE_CHUNK, size - have)
        lastCount = count
        pop = await worker<PopulateResult>({ mode: 'populate', store: s, from: have, count, inFlight: 100 })
        have += count
        made += count
        ms += pop.ms
      }
      pop = { ...(pop as PopulateResult), created: made, ms, perSecond: made / (ms / 1000) }
      o.log(`scale: ${kind}, ${int(size)} sleeping runs: fresh engine, ${o.timers} timers`)
      const probe = await worker<ProbeResult>(probeTask)
      rows.push({
        store: kind,
        size,
        ...probe,
        populatePerSecond: pop.perSecond,
        populateRss: pop.rss,
        populateHeap: pop.heapUsed,
        populateCount: lastCount,
        storeBytes: await storeBytes(s),
      })
    }
    return rows
  })

export const runResume = (o: ScaleOptions): Promise<ResumeRow[]> =>
  perStore(o, async (kind) => {
    const s = spec(kind, 'resume', o)
    o.log(`resume: ${kind}, creating runs of ${o.resumeSteps.join(', ')} steps`)
    const made = await worker<{ warmupId: string; runs: { id: string; steps: number; createMs: number }[] }>({
      mode: 'resume-create',
      store: s,
      steps: o.resumeSteps,
    })
    o.log(`resume: ${kind}, fresh engine replays them`)
    const measured = await worker<Omit<ResumeRow, 'store' | 'createMs'>[]>({
      mode: 'resume-measure',
      store: s,
      runs: made.runs.map(({ id, steps }) => ({ id, steps })),
      warmupId: made.warmupId,
    })
    return measured.map((m) => ({ store: kind, createMs: made.runs.find((r) => r.steps === m.steps)?.createMs ?? Number.NaN, ...m }))
  })

export const scaleTable = (rows: ScaleRow[]) =>
  table(
    [
      'store',
      'sleeping runs',
      'created at (runs/s)',
      'creating engine (the last, ≤ 100,000 runs a process): runs it created, RSS / heap after GC (MB)',
      'store size',
      'engine start (ms)',
      'fresh engine: RSS after start / after timers, heap (MB)',
      'timer lateness p50 / p99 / max (ms)',
      'store reads per timer',
    ],
    rows.map((r) => [
      r.store,
      int(r.size),
      r.populatePerSecond === undefined ? '-' : int(r.populatePerSecond),
      r.populateRss === undefined ? '-' : `${int(r.populateCount ?? 0)}: ${mb(r.populateRss)} / ${mb(r.populateHeap ?? 0)}`,
      r.storeBytes === undefined ? '-' : `${mb(r.storeBytes)} MB${r.store === 'redis' ? ' (used_memory)' : ''}`,
      sig(r.startMs),
      `${mb(r.rssAfterStart)} / ${mb(r.rss)}, ${mb(r.heapUsed)}`,
      `${r.lateP50} / ${r.lateP99} / ${r.lateMax} (${r.timers} timers)`,
      sig(r.readsPerTimer),
    ]),
  )

export const resumeTable = (rows: ResumeRow[]) =>
  table(
    [
      'store',
      'committed steps',
      'resume to the wait (ms)',
      'claim + journal load (ms)',
      'replay + suspend (ms)',
      'store reads',
      'rows read',
      'writes',
      'first run (ms)',
    ],
    rows.map((r) => [
      r.store,
      int(r.steps),
      sig(r.ms),
      sig(r.loadMs),
      sig(r.replayMs),
      String(r.reads),
      int(r.rows),
      String(r.writes),
      sig(r.createMs),
    ]),
  )

export interface Verdict {
  target: string
  measured: string
  met: boolean | undefined
}

export const scaleVerdicts = (scale: ScaleRow[], resume: ResumeRow[], timerLimitMs = 100): Verdict[] => {
  const out: Verdict[] = []
  for (const kind of new Set(scale.map((r) => r.store))) {
    const rows = scale.filter((r) => r.store === kind)
    const first = rows[0]
    const last = rows[rows.length - 1]
    if (first && last && rows.length > 1) {
      const growth = last.rss / first.rss
      out.push({
        target: `4. ${kind}: RSS of a fresh engine flat with ${int(last.size)} sleeping runs in the store (within 1.25× of an empty store)`,
        measured: `${rows.map((r) => `${mb(r.rss)}`).join(' → ')} MB at ${rows.map((r) => int(r.size)).join(' / ')} runs (${growth.toFixed(2)}×)`,
        met: growth <= 1.25,
      })
    }
    const created = rows.filter((r) => r.populateHeap !== undefined)
    const few = created[0]
    const many = created[created.length - 1]
    if (few && many && created.length > 1) {
      const growth = (many.populateHeap as number) / (few.populateHeap as number)
      out.push({
        target: `4. ${kind}: heap of the engine that created the runs flat (${int(many.populateCount ?? 0)} vs ${int(few.populateCount ?? 0)} created, within 1.25×)`,
        measured: `${mb(few.populateHeap as number)} → ${mb(many.populateHeap as number)} MB (${growth.toFixed(2)}×)`,
        met: growth <= 1.25,
      })
    }
    const all = scale.filter((r) => r.store === kind)
    const worst = Math.max(...all.map((r) => r.lateP99))
    out.push({
      target: `4. ${kind}: timers fire within ${timerLimitMs} ms (p99, every size)`,
      measured: `worst p99 ${worst} ms`,
      met: worst <= timerLimitMs,
    })
  }
  for (const kind of new Set(resume.map((r) => r.store))) {
    const rows = resume.filter((r) => r.store === kind)
    const small = rows[0]
    const big = rows.find((r) => r.steps === 1000) ?? rows[rows.length - 1]
    if (small && big) {
      out.push({
        target: `4. ${kind}: resuming ${int(big.steps)} committed steps reads the journal in one batch (store reads do not grow with steps)`,
        measured: `${big.reads} reads (${int(big.rows)} rows) for ${int(big.steps)} steps, ${small.reads} for ${int(small.steps)}`,
        met: big.reads <= small.reads,
      })
    }
  }
  return out
}

export const verdictTable = (verdicts: Verdict[]) =>
  table(
    ['target', 'measured', 'result'],
    verdicts.map((v) => [v.target, v.measured, yesNo(v.met)]),
  )
