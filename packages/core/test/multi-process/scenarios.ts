// The multi-process scenarios, run on Redis (redis.test.ts) and on one SQLite file (sqlite.test.ts).
import { join } from 'node:path'
import { expect } from 'vitest'
import type { Datastore } from '../../src/index.js'
import {
  client,
  commits,
  completions,
  endCount,
  intervals,
  openSteps,
  overlaps,
  produce,
  readLogs,
  startsByStep,
  startWorker,
  stepLines,
  tempDir,
  type Worker,
  waitCompleted,
  waitUntil,
} from './harness.js'
import { preciseNow } from './workflows.js'

/** How the workers reach the shared store, and how the test process opens it too. */
export interface SharedStore {
  /** Worker arguments naming the store (`--redis url --namespace ns` or `--sqlite path`). */
  args: string[]
  open(): Datastore
}

const startWorkers = async (store: SharedStore, dir: string, n: number, extra: string[]) => {
  const workers: Worker[] = []
  for (let i = 1; i <= n; i++) workers.push(startWorker(`w${i}`, [...store.args, '--log', join(dir, `w${i}.log`), ...extra]))
  await Promise.all(workers.map((w) => w.ready))
  return workers
}

/** Every run's journal has each of its steps committed exactly once. */
const expectEachStepCommittedOnce = async (store: Datastore, ids: string[], steps: number) => {
  const expected = new Map(Array.from({ length: steps }, (_, i) => [`work#${i + 1}`, 1]))
  const wrong: string[] = []
  for (const id of ids) {
    const got = await commits(store, id)
    if (JSON.stringify([...got].sort()) !== JSON.stringify([...expected].sort())) wrong.push(`${id}: ${JSON.stringify([...got])}`)
  }
  expect(wrong).toEqual([])
}

/**
 * N processes share the runs: every run completes once, every step runs once, no two executions of
 * one run overlap in time, and more than one process did work.
 */
export const shareRuns = async (shared: SharedStore, { workers: n, runs }: { workers: number; runs: number }) => {
  const dir = tempDir()
  // A lease far longer than any step: nothing here may be taken over.
  const workers = await startWorkers(shared, dir, n, ['--lease', '5s', '--poll', '100ms', '--concurrency', '25'])
  const store = shared.open()
  const engine = client(store)
  try {
    const ids = await produce(engine, runs, { steps: 3, stepMs: 25 })
    await waitCompleted(engine, ids, 60_000)
    expect(await Promise.all(workers.map((w) => w.stop()))).toEqual(workers.map(() => 0))

    const lines = readLogs(dir)
    const steps = stepLines(lines)
    // Every step of every run started and ended exactly once.
    const starts = startsByStep(steps)
    expect(starts.size).toBe(runs * 3)
    expect([...starts.values()].filter((s) => s.length !== 1)).toEqual([])
    expect(steps.filter((l) => l.phase === 'end')).toHaveLength(runs * 3)
    // Completed once, in one process, and committed once.
    const done = completions(lines)
    expect(ids.filter((id) => done.get(id)?.length !== 1)).toEqual([])
    await expectEachStepCommittedOnce(store, ids, 3)
    for (const id of ids.slice(0, 20)) {
      const info = await engine.getRun(id)
      expect(info.status).toBe('completed')
      expect(info.steps.map((s) => [s.id, s.status])).toEqual([
        ['work#1', 'completed'],
        ['work#2', 'completed'],
        ['work#3', 'completed'],
      ])
    }
    // One owner at a time: no two executions of one run overlap.
    expect(overlaps(intervals(steps, () => Number.POSITIVE_INFINITY))).toEqual([])
    const pids = new Set(steps.map((l) => l.pid))
    expect(pids.size).toBeGreaterThan(1)
    return { perProcess: [...pids].map((pid) => steps.filter((l) => l.pid === pid && l.phase === 'end').length) }
  } finally {
    await store.close?.()
  }
}

/**
 * One of N processes is SIGKILLed while it executes steps: its runs complete elsewhere after its
 * lease expires; steps it committed never run again; the steps it had in flight run once more,
 * elsewhere, with the same idempotency key.
 */
export const killOne = async (shared: SharedStore, { workers: n, runs }: { workers: number; runs: number }) => {
  const dir = tempDir()
  const workers = await startWorkers(shared, dir, n, ['--lease', '1s', '--poll', '100ms', '--concurrency', '10'])
  const victim = workers[0] as Worker
  const victimLog = join(dir, 'w1.log')
  const store = shared.open()
  const engine = client(store)
  try {
    const ids = await produce(engine, runs, { steps: 3, stepMs: 60 })
    // Mid-way: the victim has finished some steps and has some in flight.
    await waitUntil('the victim to be mid-way', () => endCount(victimLog) >= 10 && openSteps(victimLog).length > 0, 30_000, 5)
    victim.child.kill('SIGKILL')
    const killedAt = preciseNow()
    await victim.exited
    const inFlight = openSteps(victimLog)
    expect(inFlight.length).toBeGreaterThan(0)

    await waitCompleted(engine, ids, 60_000)
    const survivors = workers.slice(1)
    expect(await Promise.all(survivors.map((w) => w.stop()))).toEqual(survivors.map(() => 0))

    const lines = readLogs(dir)
    const steps = stepLines(lines)
    const starts = startsByStep(steps)
    // Steps in flight at the kill ran again, once, elsewhere, after the kill, with the same key.
    for (const s of inFlight) {
      const [first, again, ...more] = starts.get(`${s.runId} ${s.stepId}`) ?? []
      expect(more).toEqual([])
      expect(first?.pid).toBe(victim.pid)
      expect(again?.pid).not.toBe(victim.pid)
      expect(again?.key).toBe(first?.key)
      expect(again?.t).toBeGreaterThan(killedAt)
    }
    // Nothing else ran twice, except a step the victim ended but did not get to commit: its last one on that run.
    const lastOfVictim = new Map<string, string>()
    for (const l of steps) if (l.pid === victim.pid && l.phase === 'start') lastOfVictim.set(l.runId, l.stepId)
    for (const [key, list] of starts) {
      if (list.length === 1) continue
      const [runId, stepId] = key.split(' ')
      expect({ key, starts: list.length, firstPid: list[0]?.pid, last: lastOfVictim.get(runId as string) }).toEqual({
        key,
        starts: 2,
        firstPid: victim.pid,
        last: stepId,
      })
    }
    // The victim's runs completed elsewhere; runs it never touched completed once; each step committed once.
    const done = completions(lines)
    for (const s of inFlight) expect(done.get(s.runId)).not.toContain(victim.pid)
    const touched = new Set(steps.filter((l) => l.pid === victim.pid).map((l) => l.runId))
    expect(ids.filter((id) => (done.get(id)?.length ?? 0) > 1 || (!touched.has(id) && done.get(id)?.length !== 1))).toEqual([])
    await expectEachStepCommittedOnce(store, ids, 3)
    // The victim's open steps end at the kill: nobody executed its runs while it lived.
    expect(overlaps(intervals(steps, () => killedAt))).toEqual([])
    return { inFlight: inFlight.length }
  } finally {
    await store.close?.()
  }
}
