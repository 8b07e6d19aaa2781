// Schedules due at once (driven by flow-part.ts), in a process of its own:
//   1. N schedules `every: '1h'` are created (50 creations in flight);
//   2. baseline: N runs of the same workflow triggered back to back, timed until all completed;
//   3. the engine's clock jumps an hour: all N schedules are due together; timed until N runs
//      exist (one `schedule:tick` with a run each) and until they completed.
// Prints one line `RESULT {json}`.
import { type Clock, createEngine, silentLogger } from '@do-sdk/core'
import { runAsChild } from './child.js'
import { openStore, type StoreSpec } from './stores.js'
import { threeSteps } from './workload.js'

export interface ScheduleTask {
  store: StoreSpec
  schedules: number
}

export interface ScheduleResult {
  schedules: number
  createPerSecond: number
  /** The N triggered runs: ms until all completed. */
  triggerMs: number
  /** From the clock jump: ms until N runs exist, and until they completed. */
  tickMs: number
  completeMs: number
}

const HOUR = 3_600_000

/** The wall clock, plus an offset that `jump` moves forward, firing at once the timers it passes. */
const jumpingClock = () => {
  let offset = 0
  const timers = new Set<{ at: number; fn: () => void; handle: NodeJS.Timeout }>()
  const clock: Clock & { jump(ms: number): void } = {
    now: () => Date.now() + offset,
    setTimer(fn, ms) {
      const t = { at: clock.now() + ms, fn, handle: undefined as unknown as NodeJS.Timeout }
      const fire = () => {
        timers.delete(t)
        fn()
      }
      t.handle = setTimeout(fire, Math.max(0, Math.min(ms, 2_147_483_647)))
      t.handle.unref()
      timers.add(t)
      return () => {
        clearTimeout(t.handle)
        timers.delete(t)
      }
    },
    jump(ms) {
      offset += ms
      for (const t of [...timers]) {
        if (t.at > clock.now()) continue
        clearTimeout(t.handle)
        timers.delete(t)
        t.fn()
      }
    },
  }
  return clock
}

/** Resolves once `count()` reaches `n`, checked every ms. */
const until = (count: () => number, n: number, what: string, timeoutMs = 600_000) =>
  new Promise<void>((resolve, reject) => {
    const t0 = Date.now()
    const check = () => {
      if (count() >= n) return resolve()
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`${what}: ${count()} of ${n} after ${timeoutMs} ms`))
      setTimeout(check, 1)
    }
    check()
  })

const main = async () => {
  const task = JSON.parse(process.argv[2] as string) as ScheduleTask
  const n = task.schedules
  const clock = jumpingClock()
  const store = openStore(task.store)
  const engine = createEngine({ store, workflows: [threeSteps], logger: silentLogger, clock })
  let ticks = 0
  let scheduledDone = 0
  let triggeredDone = 0
  engine.hooks.on('schedule:tick', (e) => {
    if (e.runId) ticks++
  })
  engine.hooks.on('workflow:complete', (e) => {
    if (e.runId.includes('@')) scheduledDone++
    else triggeredDone++
  })
  await engine.start()

  const inFlight = async (count: number, fn: (k: number) => Promise<unknown>) => {
    let next = 0
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < count) await fn(next++)
      }),
    )
  }
  let t0 = performance.now()
  await inFlight(n, (k) => engine.schedules.create({ id: `every-hour-${k}`, workflow: threeSteps, every: '1h', input: { k } }))
  const createPerSecond = n / ((performance.now() - t0) / 1000)

  t0 = performance.now()
  await inFlight(n, (k) => engine.trigger(threeSteps, { k }))
  await until(() => triggeredDone, n, 'triggered runs completed')
  const triggerMs = performance.now() - t0

  t0 = performance.now()
  clock.jump(HOUR + 1_000)
  await until(() => ticks, n, 'schedule ticks with a run')
  const tickMs = performance.now() - t0
  await until(() => scheduledDone, n, 'scheduled runs completed')
  const completeMs = performance.now() - t0

  await engine.stop()
  await store.close?.()
  const result: ScheduleResult = { schedules: n, createPerSecond, triggerMs, tickMs, completeMs }
  return result
}

void runAsChild(main)
