// Many processes, one truth (DESIGN promise 8) on a real PostgreSQL: engine processes sharing one
// database take over the runs of a SIGKILLed process and of a SIGSTOPped one after their leases,
// refuse the frozen process's late commits, and wake each other through LISTEN/NOTIFY.
import { join } from 'node:path'
import { postgresStore } from '@do-sdk/store-postgres'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { havePostgres, type PostgresServer, startPostgres } from '../../../store-postgres/test/postgres-server.js'
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
  type Worker,
  waitCompleted,
  waitUntil,
} from './harness.js'
import { type SharedStore, shareRuns } from './scenarios.js'
import { makeWorkflows, preciseNow } from './workflows.js'

// Under CI a missing PostgreSQL fails (startPostgres throws); elsewhere these tests are skipped loudly.
const run = havePostgres()
if (!run) console.warn('\n*** PostgreSQL not found: SKIPPING the multi-process PostgreSQL tests (CI=true makes this a failure) ***\n')

let server: PostgresServer
let seq = 0
const shared = (): SharedStore => {
  const namespace = `mp${++seq}`
  return {
    args: ['--postgres', server.connectionString, '--namespace', namespace],
    open: () => postgresStore({ connectionString: server.connectionString }, { namespace }),
  }
}

describe.skipIf(!run)('engine processes sharing one PostgreSQL database', () => {
  beforeAll(async () => {
    server = await startPostgres()
  })
  afterAll(async () => {
    await cleanup()
    await server?.stop()
  })
  afterEach(cleanup)

  it('3 processes share 150 runs: each completes once, every step runs once, no overlapping executions', async () => {
    const { perProcess } = await shareRuns(shared(), { workers: 3, runs: 150 })
    expect(perProcess.reduce((a, b) => a + b, 0)).toBe(450)
  }, 90_000)

  it('of 3 processes one is SIGKILLed and one SIGSTOPped past its lease: the third completes their runs, each once, no committed step repeated', async () => {
    const store = shared()
    const dir = tempDir()
    const logOf = (i: number) => join(dir, `w${i}.log`)
    const workers = [1, 2, 3].map((i) =>
      startWorker(`w${i}`, [...store.args, '--log', logOf(i), '--lease', '1s', '--poll', '100ms', '--concurrency', '6']),
    )
    await Promise.all(workers.map((w) => w.ready))
    const [killed, frozen, survivor] = workers as [Worker, Worker, Worker]
    const ds = store.open()
    const engine = client(ds)
    try {
      const ids = await produce(engine, 60, { steps: 3, stepMs: 100 })
      const midStep = (i: number) => () => endCount(logOf(i)) >= 3 && openSteps(logOf(i)).length > 0

      await waitUntil('w1 to be mid-step', midStep(1), 30_000, 5)
      killed.child.kill('SIGKILL')
      const killedAt = preciseNow()
      await killed.exited
      const inFlight = openSteps(logOf(1))
      expect(inFlight.length).toBeGreaterThan(0)

      await waitUntil('w2 to be mid-step', midStep(2), 30_000, 5)
      frozen.child.kill('SIGSTOP')
      const stoppedAt = preciseNow()
      const held = [...new Set(openSteps(logOf(2)).map((s) => s.runId))]
      expect(held.length).toBeGreaterThan(0)
      // The frozen process's leases on those runs, as the store holds them now.
      const leases = await Promise.all(held.map((id) => leaseOf(ds, id)))

      // Both victims' runs complete in the survivor, not before the frozen process's lease expired
      // (compared on the engines' clock, the store's: no timing window).
      await waitCompleted(engine, [...new Set([...held, ...inFlight.map((s) => s.runId)])], 30_000)
      for (const [i, id] of held.entries())
        expect((await engine.getRun(id)).finishedAt as number).toBeGreaterThanOrEqual(leases[i] as number)
      // Read while it is frozen: the steps it was in (started, not ended). Their 'end' lines come after
      // the wake-up, though one may carry a time from just before the SIGSTOP landed, so they are
      // told apart by the log's order, not by time.
      const stepKey = (s: { runId: string; stepId: string }) => `${s.runId} ${s.stepId}`
      const openAtFreeze = openSteps(logOf(2)).map(stepKey)
      frozen.child.kill('SIGCONT')
      // Woken, it finishes the steps it was in; their commits must be refused (checked below: each
      // step's result is in the journal once, and no held run completes in the frozen process).
      await waitUntil(
        'the woken process to end the steps it was in',
        () => {
          const open = new Set(openSteps(logOf(2)).map(stepKey))
          return openAtFreeze.every((k) => !open.has(k))
        },
        15_000,
      )
      await waitCompleted(engine, ids, 60_000)
      expect(await Promise.all([frozen.stop(), survivor.stop()])).toEqual([0, 0])

      const lines = readLogs(dir)
      const done = completions(lines)
      // Every run completed exactly once; the victims' runs elsewhere.
      expect(ids.filter((id) => done.get(id)?.length !== 1)).toEqual([])
      for (const id of held) expect(done.get(id)).not.toContain(frozen.pid)
      for (const s of inFlight) expect(done.get(s.runId)).not.toContain(killed.pid)
      // No committed step repeated: each step's result is in the journal once.
      for (const id of ids)
        expect([...(await commits(ds, id))].sort()).toEqual([
          ['work#1', 1],
          ['work#2', 1],
          ['work#3', 1],
        ])
      // A step ran again only when a victim was executing it: every start but the last is a victim's
      // (a step of a run the frozen process took over from the killed one may start three times),
      // each next start is in another process, after that victim was killed or frozen, with the same
      // idempotency key.
      for (const [key, list] of startsByStep(stepLines(lines))) {
        expect({ key, pids: new Set(list.map((l) => l.pid)).size }).toEqual({ key, pids: list.length })
        for (let i = 1; i < list.length; i++) {
          const [first, again] = [list[i - 1], list[i]]
          expect([killed.pid, frozen.pid]).toContain(first?.pid)
          expect(again?.key).toBe(first?.key)
          expect(again?.t).toBeGreaterThan(first?.pid === killed.pid ? killedAt : stoppedAt)
        }
      }
    } finally {
      await ds.close?.()
    }
  }, 120_000)

  it('a signal to a run waiting in another process wakes it at once (LISTEN/NOTIFY), not at the next 10 s poll', async () => {
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
      const run = await engine.trigger(signalled, {}, { id: 'waiter' })
      await waitUntil('the run to wait for its event', async () => (await engine.getRun(run.id)).status === 'waiting', 8_000, 10)
      const sentAt = Date.now()
      await engine.signal(run.id, 'go', { sentAt })
      await waitUntil('the signalled run to complete', async () => (await engine.getRun(run.id)).status === 'completed', 8_000, 10)
      expect(await run.result()).toEqual({ sentAt })
      expect(await Promise.all(workers.map((w) => w.stop()))).toEqual([0, 0])
    } finally {
      await ds.close?.()
    }
  }, 40_000)
})
