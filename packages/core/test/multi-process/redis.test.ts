// Many processes, one truth (DESIGN promise 8) on a real redis-server: engine processes share runs,
// take over a dead process's runs, refuse a paused process's late commit, and wake on pub/sub.
import { join } from 'node:path'
import { redisStore } from '@do-sdk/store-redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { findRedisServer, type RedisServer, startRedis } from '../../../store-redis/test/redis-server.js'
import {
  cleanup,
  client,
  commits,
  completions,
  endCount,
  leaseOf,
  openSteps,
  produce,
  readLogs,
  startsByStep,
  startWorker,
  stepLines,
  tempDir,
  waitCompleted,
  waitUntil,
} from './harness.js'
import { killOne, type SharedStore, shareRuns } from './scenarios.js'
import { makeWorkflows } from './workflows.js'

// Under CI a missing redis-server fails (startRedis throws); elsewhere these tests are skipped loudly.
const haveRedis = findRedisServer() !== undefined || process.env.CI === 'true'
if (!haveRedis) console.warn('\n*** redis-server not found: SKIPPING the multi-process Redis tests (CI=true makes this a failure) ***\n')

let redis: RedisServer
let seq = 0
const shared = (): SharedStore => {
  const namespace = `mp${++seq}-${process.pid}`
  return { args: ['--redis', redis.url, '--namespace', namespace], open: () => redisStore({ url: redis.url }, { namespace }) }
}

describe.skipIf(!haveRedis)('engine processes sharing one Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await cleanup()
    await redis?.stop()
  })
  afterEach(cleanup)

  it('3 processes share 300 runs: each completes once, every step runs once, no overlapping executions', async () => {
    const { perProcess } = await shareRuns(shared(), { workers: 3, runs: 300 })
    expect(perProcess.reduce((a, b) => a + b, 0)).toBe(900)
  }, 60_000)

  it('a process SIGKILLed mid-way: its runs complete elsewhere after its lease, in-flight steps run once more with the same key', async () => {
    await killOne(shared(), { workers: 3, runs: 90 })
  }, 60_000)

  it('a process SIGSTOPped past its lease: its runs complete elsewhere; after SIGCONT its late commits are refused', async () => {
    const store = shared()
    const dir = tempDir()
    const workers = [1, 2, 3].map((i) =>
      startWorker(`w${i}`, [...store.args, '--log', join(dir, `w${i}.log`), '--lease', '1s', '--poll', '100ms', '--concurrency', '8']),
    )
    await Promise.all(workers.map((w) => w.ready))
    const [victim] = workers as [(typeof workers)[0]]
    const victimLog = join(dir, 'w1.log')
    const ds = store.open()
    const engine = client(ds)
    try {
      const ids = await produce(engine, 48, { steps: 3, stepMs: 150 })
      await waitUntil('the victim to be mid-step', () => endCount(victimLog) >= 3 && openSteps(victimLog).length > 0, 30_000, 5)
      victim.child.kill('SIGSTOP')
      const held = [...new Set(openSteps(victimLog).map((s) => s.runId))]
      expect(held.length).toBeGreaterThan(0)
      // The frozen process's leases on those runs, as the store holds them now.
      const leases = await Promise.all(held.map((id) => leaseOf(ds, id)))

      // The runs it held complete in the other processes while it is frozen, not before its lease
      // expired (compared on the engines' clock, the store's: no timing window).
      await waitCompleted(engine, held, 20_000)
      for (const [i, id] of held.entries())
        expect((await engine.getRun(id)).finishedAt as number).toBeGreaterThanOrEqual(leases[i] as number)
      // What it logged before it woke up (it is frozen: the file is still). A line written after the
      // wake-up may carry a time from just before the SIGSTOP landed, so the log's order tells them apart.
      const loggedFrozen = stepLines(readLogs(dir)).filter((l) => l.pid === victim.pid).length
      victim.child.kill('SIGCONT')
      // It wakes up and finishes the steps it was in; it finds its lease ran out (or, if it tries, its
      // late commit or renewal is refused), so it commits nothing.
      const refused = await waitUntil(
        'the woken process to report its refused commits',
        () => {
          const errors = readLogs(dir).filter((l) => l.type === 'error' && l.pid === victim.pid) as { runId?: string; message: string }[]
          return held.every((id) => errors.some((e) => e.runId === id && /lease lost/i.test(e.message))) ? errors : undefined
        },
        10_000,
      )
      // Every error it reports is such a refusal.
      expect(
        refused.filter(
          (e) =>
            !/^LeaseLostError: .*(commit refused, another engine owns the run now|the lease ran out before it could be renewed) \(lease lost\)$/.test(
              e.message,
            ),
        ),
      ).toEqual([])

      await waitCompleted(engine, ids, 30_000)
      expect(await Promise.all(workers.map((w) => w.stop()))).toEqual([0, 0, 0])
      const lines = readLogs(dir)
      const done = completions(lines)
      // Every run completed once, the held ones elsewhere; no step result was committed twice.
      expect(ids.filter((id) => done.get(id)?.length !== 1)).toEqual([])
      for (const id of held) expect(done.get(id)).not.toContain(victim.pid)
      for (const id of ids)
        expect([...(await commits(ds, id))].sort()).toEqual([
          ['work#1', 1],
          ['work#2', 1],
          ['work#3', 1],
        ])
      for (const id of held) {
        const info = await engine.getRun(id)
        expect(info.steps.map((s) => [s.id, s.status])).toEqual([
          ['work#1', 'completed'],
          ['work#2', 'completed'],
          ['work#3', 'completed'],
        ])
      }
      // The frozen process did finish its step late (its 'end' comes after the other process's commit).
      const late = stepLines(lines)
        .filter((l) => l.pid === victim.pid)
        .slice(loggedFrozen)
        .filter((l) => l.phase === 'end')
      expect(late.length).toBeGreaterThan(0)
    } finally {
      await ds.close?.()
    }
  }, 60_000)

  it('a signal to a run waiting in another process wakes it at once (pub/sub), not at the next 10 s poll', async () => {
    const store = shared()
    const dir = tempDir()
    const workers = [1, 2].map((i) =>
      startWorker(`w${i}`, [...store.args, '--log', join(dir, `w${i}.log`), '--lease', '5s', '--poll', '10s']),
    )
    await Promise.all(workers.map((w) => w.ready))
    const ds = store.open()
    const engine = client(ds)
    const { signalled } = makeWorkflows({ logFile: '/dev/null' })
    try {
      const created = Date.now()
      const run = await engine.trigger(signalled, {}, { id: 'waiter' })
      await waitUntil('the run to wait for its event', async () => (await engine.getRun(run.id)).status === 'waiting', 5_000, 10)
      expect(Date.now() - created).toBeLessThan(2_000)

      const sentAt = Date.now()
      await engine.signal(run.id, 'go', { sentAt })
      await waitUntil('the signalled run to complete', async () => (await engine.getRun(run.id)).status === 'completed', 5_000, 10)
      const latency = Date.now() - sentAt
      expect(latency).toBeLessThan(1_000)
      expect(await run.result()).toEqual({ sentAt })
      expect(await Promise.all(workers.map((w) => w.stop()))).toEqual([0, 0])
    } finally {
      await ds.close?.()
    }
  }, 30_000)

  it('a process stopped gracefully (SIGTERM, engine.stop) hands its runs over at once, without waiting for its lease, no step repeated', async () => {
    const store = shared()
    const dir = tempDir()
    const workers = [1, 2].map((i) =>
      startWorker(`w${i}`, [...store.args, '--log', join(dir, `w${i}.log`), '--lease', '10s', '--poll', '100ms', '--concurrency', '15']),
    )
    await Promise.all(workers.map((w) => w.ready))
    const [leaving, staying] = workers as [(typeof workers)[0], (typeof workers)[0]]
    const leavingLog = join(dir, 'w1.log')
    const ds = store.open()
    const engine = client(ds)
    try {
      const ids = await produce(engine, 40, { steps: 4, stepMs: 100 })
      await waitUntil('the leaving process to be mid-step', () => endCount(leavingLog) >= 3 && openSteps(leavingLog).length > 0, 30_000, 5)
      const held = [...new Set(openSteps(leavingLog).map((s) => s.runId))]
      const leavingId = await leaving.ready
      expect(await leaving.stop()).toBe(0)
      // stop() let its runs go (no lease left to wait for: 10 s here) and told the others: once it has
      // exited, none of its runs is held by it any more.
      for (const id of held) expect((await engine.getRun(id)).owner).not.toBe(leavingId)
      await waitCompleted(engine, held, 9_000)
      await waitCompleted(engine, ids, 30_000)
      expect(await staying.stop()).toBe(0)
      const steps = stepLines(readLogs(dir))
      // Graceful: the steps in flight finished and committed before the runs moved; nothing ran twice.
      expect([...startsByStep(steps).values()].filter((s) => s.length !== 1)).toEqual([])
      expect(startsByStep(steps).size).toBe(40 * 4)
      for (const id of held) {
        expect(steps.some((l) => l.runId === id && l.pid === leaving.pid)).toBe(true)
        expect(steps.some((l) => l.runId === id && l.pid === staying.pid)).toBe(true)
      }
    } finally {
      await ds.close?.()
    }
  }, 60_000)

  it('a process frozen right after a commit, past its lease, does not start a step another process already committed', async () => {
    // Without a lease check before each step, the woken process would go on with work#2 and learn
    // only at its commit (refused) that the run moved: work#2's action would run a second time
    // although another process had committed it. (This test found that gap; the engine now checks.)
    const store = shared()
    const dir = tempDir()
    const runId = 'frozen-after-commit'
    const args = ['--lease', '1s', '--poll', '100ms', '--pause-after-commit', `${runId}:work#1`]
    const workers = [1, 2].map((i) => startWorker(`w${i}`, [...store.args, '--log', join(dir, `w${i}.log`), ...args]))
    await Promise.all(workers.map((w) => w.ready))
    const ds = store.open()
    const engine = client(ds)
    const { steps } = makeWorkflows({ logFile: '/dev/null' })
    try {
      await engine.trigger(steps, { steps: 3, stepMs: 50 }, { id: runId })
      // The process that ran work#1 froze itself (SIGSTOP) right after its commit landed.
      const first = await waitUntil('work#1 to start', () => stepLines(readLogs(dir)).find((l) => l.stepId === 'work#1'), 10_000)
      const frozen = workers.find((w) => w.pid === first.pid)!
      await waitCompleted(engine, [runId], 15_000)
      frozen.child.kill('SIGCONT')
      await waitUntil(
        'the woken process to notice it lost the run',
        () => readLogs(dir).some((l) => l.type === 'error' && l.pid === frozen.pid && /lease lost/i.test(l.message)),
        10_000,
      )
      // No grace period needed: the execution logs the lost lease as it closes, and a closed
      // execution starts no step, so every start it could make is in the log by now.
      const starts = startsByStep(stepLines(readLogs(dir)))
      expect([...(await commits(ds, runId))].sort()).toEqual([
        ['work#1', 1],
        ['work#2', 1],
        ['work#3', 1],
      ])
      expect(starts.get(`${runId} work#1`)?.length).toBe(1)
      // Committed by the other process while this one was frozen: must never run again.
      expect(starts.get(`${runId} work#2`)?.map((l) => l.pid)).toEqual([workers.find((w) => w !== frozen)!.pid])
    } finally {
      await ds.close?.()
    }
  }, 40_000)
})
