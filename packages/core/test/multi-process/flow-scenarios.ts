// Schedules and flow control across real processes, run on Redis (flow-redis.test.ts) and on one
// SQLite file (flow-sqlite.test.ts): three workers, one SIGKILLed mid-way.
import { join } from 'node:path'
import { expect } from 'vitest'
import { client, intervals, readLogs, startWorker, stepLines, tempDir, type Worker, waitUntil } from './harness.js'
import type { SharedStore } from './scenarios.js'
import { makeWorkflows, preciseNow } from './workflows.js'

const startWorkers = async (store: SharedStore, dir: string, n: number, extra: (i: number) => string[] = () => []) => {
  const workers: Worker[] = []
  for (let i = 1; i <= n; i++)
    workers.push(
      startWorker(`w${i}`, [
        ...store.args,
        '--log',
        join(dir, `w${i}.log`),
        '--lease',
        '1s',
        '--poll',
        '100ms',
        '--concurrency',
        '20',
        ...extra(i),
      ]),
    )
  await Promise.all(workers.map((w) => w.ready))
  return workers
}

/** A schedule ticking every second while three processes poll it, one SIGKILLed: each tick starts one run, and no tick is lost. */
export const scheduleTicksOnce = async (shared: SharedStore) => {
  const dir = tempDir()
  const workers = await startWorkers(shared, dir, 3)
  const store = shared.open()
  const engine = client(store)
  const { ticked } = makeWorkflows({ logFile: '/dev/null' })
  try {
    await engine.schedules.create({ id: 'every-second', workflow: ticked, every: '1s', overlap: 'allow' })
    const createdAt = (await engine.schedules.get('every-second')).createdAt
    await waitUntil('3 ticks', async () => ((await engine.schedules.get('every-second')).lastTickAt ?? 0) >= createdAt + 3_000, 20_000)
    const [victim] = workers as [Worker]
    victim.child.kill('SIGKILL')
    await victim.exited
    await waitUntil('9 ticks', async () => ((await engine.schedules.get('every-second')).lastTickAt ?? 0) >= createdAt + 9_000, 30_000)
    await engine.schedules.pause('every-second')
    const last = (await engine.schedules.get('every-second')).lastTickAt as number
    const runs = (await engine.listRuns({ idPrefix: 'every-second@', limit: 1000 })).runs
    // One run per tick, for every tick from the first to the last: none lost to the kill, none doubled.
    const ticks = runs.map((r) => r.schedule?.tickAt as number).sort((a, b) => a - b)
    const expected = Array.from({ length: (last - createdAt) / 1_000 }, (_, i) => createdAt + (i + 1) * 1_000)
    expect(ticks).toEqual(expected)
    await waitUntil('every tick run to finish', async () => {
      const all = (await engine.listRuns({ idPrefix: 'every-second@', limit: 1000 })).runs
      return all.every((r) => r.status === 'completed')
    })
    // Each tick's step ran once (a step in flight in the killed process may run once more, elsewhere).
    const starts = new Map<string, number[]>()
    for (const l of stepLines(readLogs(dir))) if (l.phase === 'start') starts.set(l.runId, [...(starts.get(l.runId) ?? []), l.pid])
    for (const r of runs) {
      const pids = starts.get(r.id) ?? []
      expect(pids.length === 1 || (pids.length === 2 && pids[0] === victim.pid), `${r.id} started in ${pids.join(', ')}`).toBe(true)
    }
    const survivors = workers.slice(1)
    expect(await Promise.all(survivors.map((w) => w.stop()))).toEqual(survivors.map(() => 0))
  } finally {
    await store.close?.()
  }
}

/** Runs of 3 keys with a per-key limit of 1 over three processes, one SIGKILLed: no two runs of a key ever execute at once. */
export const perKeyLimit = async (shared: SharedStore) => {
  const dir = tempDir()
  const workers = await startWorkers(shared, dir, 3)
  const store = shared.open()
  const engine = client(store)
  const { keyed } = makeWorkflows({ logFile: '/dev/null' })
  try {
    const ids: string[] = []
    for (let i = 0; i < 30; i++)
      ids.push((await engine.trigger(keyed, { key: `k${i % 3}`, steps: 2, stepMs: 100 }, { id: `keyed-${i}` })).id)
    await waitUntil('a few runs done', async () => (await engine.countRuns({ workflowId: 'mp-keyed', status: 'completed' })) >= 6, 30_000)
    // The process that started a step last is killed: a freed slot goes first to the process that freed
    // it, so that one may hold the keys; the others must take its runs over.
    const lastStart = stepLines(readLogs(dir))
      .filter((l) => l.phase === 'start')
      .sort((a, b) => a.t - b.t)
      .at(-1)
    const victim = workers.find((w) => w.pid === lastStart?.pid) ?? (workers[0] as Worker)
    victim.child.kill('SIGKILL')
    const killedAt = preciseNow()
    await victim.exited
    await waitUntil(
      'every keyed run to complete',
      async () => (await engine.countRuns({ workflowId: 'mp-keyed', status: 'completed' })) === 30,
      60_000,
    )
    const ivs = intervals(stepLines(readLogs(dir)), () => killedAt)
    const keyOf = (runId: string) => `k${Number(runId.slice('keyed-'.length)) % 3}`
    const bad: string[] = []
    for (const a of ivs)
      for (const b of ivs)
        if (a.runId < b.runId && keyOf(a.runId) === keyOf(b.runId) && a.start < b.end && b.start < a.end)
          bad.push(`${a.runId}@${a.pid} [${a.start}, ${a.end}] overlaps ${b.runId}@${b.pid} [${b.start}, ${b.end}]`)
    expect(bad).toEqual([])
    expect(new Set(ivs.map((i) => i.pid)).size).toBeGreaterThan(1)
    const survivors = workers.filter((w) => w !== victim)
    expect(await Promise.all(survivors.map((w) => w.stop()))).toEqual(survivors.map(() => 0))
  } finally {
    await store.close?.()
  }
}

/** Three processes trigger a workflow limited to 5 runs per 2 s as fast as they can: at most 5 runs are created in any 2 s. */
export const rateLimitAcross = async (shared: SharedStore) => {
  const dir = tempDir()
  const workers = await startWorkers(shared, dir, 3, () => ['--trigger-limited', '60'])
  const store = shared.open()
  const engine = client(store)
  try {
    await waitUntil('every worker to finish triggering', () => workers.every((w) => w.output().includes('triggered')), 60_000)
    const runs = (await engine.listRuns({ workflowId: 'mp-limited', limit: 1000 })).runs
    const times = runs.map((r) => r.createdAt).sort((a, b) => a - b)
    for (let i = 0; i + 5 < times.length; i++) expect((times[i + 5] as number) - (times[i] as number)).toBeGreaterThanOrEqual(2_000)
    const triggers = readLogs(dir).filter((l) => l.type === 'trigger') as { admitted: boolean }[]
    expect(triggers).toHaveLength(180)
    expect(triggers.filter((t) => t.admitted)).toHaveLength(runs.length)
    expect(runs.length).toBeGreaterThan(5)
    expect(await Promise.all(workers.map((w) => w.stop()))).toEqual(workers.map(() => 0))
  } finally {
    await store.close?.()
  }
}
