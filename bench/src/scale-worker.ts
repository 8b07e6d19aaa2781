// Scale and resume measurements, one step per process so every engine measured is a fresh one:
//   populate        adds sleeping runs to a store (through the engine, as an app would)
//   probe           a fresh engine on that store: start time, RSS, and how late short timers fire
//   resume-create   runs that commit N steps and then wait for an event
//   resume-measure  a fresh engine replays each of them to its wait; time and store reads
// Prints one line `RESULT {json}`. Run by scale.ts with --expose-gc.
import { randomUUID } from 'node:crypto'
import { createEngine, type Datastore, definePlugin, type Engine, type Plugin, silentLogger, workflow } from '@do-sdk/core'
import { runAsChild } from './child.js'
import { gc, percentile, sleep } from './measure.js'
import { openStore, type StoreSpec } from './stores.js'

export type { StoreSpec }

export type WorkerTask =
  | { mode: 'populate'; store: StoreSpec; from: number; count: number; inFlight: number }
  | { mode: 'probe'; store: StoreSpec; timers: number; spreadMs: number; leadMs: number }
  | { mode: 'resume-create'; store: StoreSpec; steps: number[] }
  | { mode: 'resume-measure'; store: StoreSpec; runs: { id: string; steps: number }[]; warmupId: string }

const DAY = 86_400_000

/** The bulk of the scale test: sleeps until a time far away (spread over a day, as real timers are). */
const sleeper = workflow.create({
  id: 'bench-sleeper',
  run: async ({ input, step }) => {
    await step.sleepUntil(input.wakeAt)
    return 'woke'
  },
})

/** N committed steps, then a wait for an event that never comes. */
const resumer = workflow.create({
  id: 'bench-resumer',
  run: async ({ input, step }) => {
    for (let k = 0; k < input.steps; k++) await step.run('s', () => ({ k }))
    await step.waitForEvent('go')
    return 'done'
  },
})

/** Per-run promises resolved by lifecycle events. */
class Events {
  private readonly waiters = new Map<string, Map<string, (at: number) => void>>()
  readonly lateMs: number[] = []
  readonly plugin: Plugin = definePlugin({
    name: 'bench-events',
    setup: (ctx) => {
      for (const name of ['workflow:suspend', 'workflow:complete', 'workflow:resume', 'workflow:fail'] as const) {
        ctx.on(name, (e) => this.fire(name, e.runId))
      }
      ctx.on('timer:fire', (e) => {
        if (e.runId.startsWith('probe-')) this.lateMs.push(e.lateMs)
      })
    },
  })

  private fire(name: string, runId: string) {
    const at = performance.now()
    const byRun = this.waiters.get(name)
    const fn = byRun?.get(runId)
    if (fn) {
      byRun?.delete(runId)
      fn(at)
    }
  }

  /** Resolves with the time (performance.now) at which `name` happens to `runId`; register before causing it. */
  next(name: string, runId: string, timeoutMs = 120_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} for run ${runId} within ${timeoutMs} ms`)), timeoutMs)
      const byRun = this.waiters.get(name) ?? new Map()
      byRun.set(runId, (at: number) => {
        clearTimeout(timer)
        resolve(at)
      })
      this.waiters.set(name, byRun)
    })
  }
}

/** Counts the store calls the engine makes (reads apart from writes), and the rows reads return. */
const counting = (ds: Datastore) => {
  const n = { get: 0, getMany: 0, list: 0, rows: 0, batch: 0 }
  const store: Datastore = {
    name: ds.name,
    capabilities: ds.capabilities,
    get: (key) => {
      n.get++
      return ds.get(key).then((e) => {
        if (e) n.rows++
        return e
      })
    },
    list: (prefix, options) => {
      n.list++
      return ds.list(prefix, options).then((items) => {
        n.rows += items.length
        return items
      })
    },
    batch: (ops) => {
      n.batch++
      return ds.batch(ops)
    },
    ...(ds.getMany
      ? {
          getMany: (keys: string[]) => {
            n.getMany++
            return (ds.getMany as NonNullable<Datastore['getMany']>)(keys).then((es) => {
              n.rows += es.filter(Boolean).length
              return es
            })
          },
        }
      : {}),
    ...(ds.publish ? { publish: ds.publish.bind(ds) } : {}),
    ...(ds.subscribe ? { subscribe: ds.subscribe.bind(ds) } : {}),
    ...(ds.now ? { now: ds.now.bind(ds) } : {}),
    ...(ds.close ? { close: ds.close.bind(ds) } : {}),
  }
  const reset = () => {
    for (const k of Object.keys(n) as (keyof typeof n)[]) n[k] = 0
  }
  return { store, n, reset }
}

const engineOn = (store: Datastore, events: Events): Engine =>
  createEngine({ store, workflows: [sleeper, resumer], logger: silentLogger, concurrency: 100, plugins: [events.plugin] })

const rss = async () => {
  await gc()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed }
}

const populate = async (task: Extract<WorkerTask, { mode: 'populate' }>) => {
  const store = openStore(task.store)
  const events = new Events()
  const engine = engineOn(store, events)
  await engine.start()
  const base = Date.now() + DAY
  const t0 = performance.now()
  let next = 0
  const worker = async () => {
    while (next < task.count) {
      const k = task.from + next++
      const id = `sleep-${k}`
      const suspended = events.next('workflow:suspend', id)
      await engine.trigger(sleeper, { wakeAt: base + ((k * 7919) % DAY) }, { id })
      await suspended
    }
  }
  await Promise.all(Array.from({ length: task.inFlight }, worker))
  const ms = performance.now() - t0
  const mem = await rss()
  await engine.stop()
  await store.close?.()
  return { created: task.count, ms, perSecond: task.count / (ms / 1000), ...mem }
}

const probe = async (task: Extract<WorkerTask, { mode: 'probe' }>) => {
  const { store, n, reset } = counting(openStore(task.store))
  const events = new Events()
  const engine = engineOn(store, events)
  const t0 = performance.now()
  await engine.start()
  const startMs = performance.now() - t0
  const afterStart = await rss()
  const first = Date.now() + task.leadMs
  const tag = randomUUID().slice(0, 8)
  const done: Promise<number>[] = []
  for (let k = 0; k < task.timers; k++) {
    const id = `probe-${tag}-${k}`
    done.push(events.next('workflow:complete', id, task.leadMs + task.spreadMs + 60_000))
    await engine.trigger(sleeper, { wakeAt: first + Math.floor((k * task.spreadMs) / task.timers) }, { id })
  }
  // Store reads while the timers fire (the runs were created above): what one wake-up costs.
  await sleep(Math.max(0, first - Date.now() - 5))
  reset()
  await Promise.all(done)
  const readsPerTimer = (n.get + n.getMany + n.list) / task.timers
  const afterTimers = await rss()
  await engine.stop()
  await store.close?.()
  const late = events.lateMs
  return {
    startMs,
    rssAfterStart: afterStart.rss,
    heapAfterStart: afterStart.heapUsed,
    rss: afterTimers.rss,
    heapUsed: afterTimers.heapUsed,
    timers: late.length,
    lateP50: percentile(late, 50),
    lateP99: percentile(late, 99),
    lateMax: Math.max(...late),
    readsPerTimer,
  }
}

const resumeCreate = async (task: Extract<WorkerTask, { mode: 'resume-create' }>) => {
  const store = openStore(task.store)
  const events = new Events()
  const engine = engineOn(store, events)
  await engine.start()
  const tag = randomUUID().slice(0, 8)
  const make = async (steps: number, id: string) => {
    const waiting = events.next('workflow:suspend', id, 600_000)
    const t0 = performance.now()
    await engine.trigger(resumer, { steps }, { id })
    await waiting
    return performance.now() - t0
  }
  const warmupId = `resume-${tag}-warmup`
  await make(10, warmupId)
  const runs: { id: string; steps: number; createMs: number }[] = []
  for (const steps of task.steps) {
    const id = `resume-${tag}-${steps}`
    runs.push({ id, steps, createMs: await make(steps, id) })
  }
  await engine.stop()
  await store.close?.()
  return { warmupId, runs }
}

const resumeMeasure = async (task: Extract<WorkerTask, { mode: 'resume-measure' }>) => {
  const { store, n, reset } = counting(openStore(task.store))
  const events = new Events()
  const engine = engineOn(store, events)
  await engine.start()
  const poke = async (id: string) => {
    const resumed = events.next('workflow:resume', id)
    const suspended = events.next('workflow:suspend', id)
    const t0 = performance.now()
    await engine.signal(id, 'poke')
    const [r, s] = await Promise.all([resumed, suspended])
    return { ms: s - t0, loadMs: r - t0, replayMs: s - r }
  }
  await poke(task.warmupId)
  await sleep(50)
  const out = []
  for (const run of task.runs) {
    reset()
    const t = await poke(run.id)
    out.push({ steps: run.steps, ...t, reads: n.get + n.getMany + n.list, rows: n.rows, writes: n.batch })
    await sleep(20)
  }
  await engine.stop()
  await store.close?.()
  return out
}

const main = async () => {
  const task = JSON.parse(process.argv[2] as string) as WorkerTask
  const result =
    task.mode === 'populate'
      ? await populate(task)
      : task.mode === 'probe'
        ? await probe(task)
        : task.mode === 'resume-create'
          ? await resumeCreate(task)
          : await resumeMeasure(task)
  return result
}

void runAsChild(main)
