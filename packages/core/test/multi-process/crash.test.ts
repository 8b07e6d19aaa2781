// Crash tests with real processes (issue 4, point 6; DESIGN promises 1 and 7): a process killed with
// SIGKILL in the middle of a step and restarted on the same store finishes the run without running a
// committed step again; a Redis frozen mid-run pauses the runs, which finish when it returns.
import { connect } from 'node:net'
import { join } from 'node:path'
import { redisStore } from '@do-sdk/store-redis'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { findRedisServer, type RedisServer, startRedis } from '../../../store-redis/test/redis-server.js'
import type { Datastore } from '../../src/index.js'
import {
  cleanup,
  client,
  commits,
  completions,
  endCount,
  produce,
  readLogs,
  startsByStep,
  startWorker,
  stepLines,
  tempDir,
  waitCompleted,
  waitUntil,
} from './harness.js'
import { makeWorkflows, preciseNow } from './workflows.js'

const haveRedis = findRedisServer() !== undefined || process.env.CI === 'true'

/**
 * One process runs one 3-step run; its second step blocks until the test SIGKILLs the process. A
 * new process on the same store (same engine id: it takes its runs back without waiting for the
 * lease) finishes the run: step 1 ran once, step 2 twice with the same idempotency key, step 3 once.
 */
const killMidStepAndRestart = async (storeArgs: string[], open: () => Datastore) => {
  const dir = tempDir()
  const ds = open()
  const engine = client(ds)
  const { steps } = makeWorkflows({ logFile: '/dev/null' })
  try {
    const run = await engine.trigger(steps, { steps: 3, stepMs: 20 }, { id: 'crash-me' })
    const args = [...storeArgs, '--engine-id', 'crash-worker', '--lease', '1s', '--poll', '100ms']
    const first = startWorker('first', [...args, '--log', join(dir, 'first.log'), '--block-step', 'work#2'])
    await waitUntil('step 2 to start', () => stepLines(readLogs(dir)).some((l) => l.stepId === 'work#2'), 20_000, 10)
    first.child.kill('SIGKILL')
    await first.exited
    expect((await engine.getRun(run.id)).status).toBe('running')

    const second = startWorker('second', [...args, '--log', join(dir, 'second.log')])
    await waitCompleted(engine, [run.id], 20_000)
    expect(await second.stop()).toBe(0)

    const lines = stepLines(readLogs(dir))
    const starts = startsByStep(lines)
    expect(starts.get('crash-me work#1')?.map((l) => l.pid)).toEqual([first.pid])
    expect(starts.get('crash-me work#2')?.map((l) => [l.pid, l.key, l.attempt])).toEqual([
      [first.pid, 'crash-me:work#2', 1],
      [second.pid, 'crash-me:work#2', 1],
    ])
    expect(starts.get('crash-me work#3')?.map((l) => l.pid)).toEqual([second.pid])
    expect([...(await commits(ds, run.id))].sort()).toEqual([
      ['work#1', 1],
      ['work#2', 1],
      ['work#3', 1],
    ])
    expect(await run.result()).toEqual({ pids: [first.pid, second.pid, second.pid] })
  } finally {
    await ds.close?.()
  }
}

describe('crashes and store outages, with real processes', () => {
  afterEach(cleanup)

  it('SIGKILL mid-step, restart on the same SQLite file: the run completes, committed steps ran once, the in-flight step once more with the same key', async () => {
    const path = join(tempDir('do-mp-crash-'), 'runs.db')
    await killMidStepAndRestart(['--sqlite', path], () => sqliteStore({ path }))
  }, 40_000)

  describe.skipIf(!haveRedis)('on Redis', () => {
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await cleanup()
      await redis?.stop()
    })

    it('SIGKILL mid-step, restart on the same Redis: the run completes, committed steps ran once, the in-flight step once more with the same key', async () => {
      await killMidStepAndRestart(['--redis', redis.url, '--namespace', 'crash'], () =>
        redisStore({ url: redis.url }, { namespace: 'crash' }),
      )
    }, 40_000)

    /** `CLIENT PAUSE <ms> ALL` over a raw connection: the server holds every client's commands for `ms`. */
    const clientPause = (ms: number) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(redis.port, '127.0.0.1')
        const args = ['CLIENT', 'PAUSE', String(ms), 'ALL']
        socket.on('error', reject)
        socket.once('data', (reply) => {
          socket.destroy()
          if (String(reply).startsWith('+OK')) resolve()
          else reject(new Error(`CLIENT PAUSE: ${reply}`))
        })
        socket.write(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`)
      })

    it.each([
      ['frozen (SIGSTOP of redis-server)', (ms: number) => redis.freeze(ms)],
      ['paused (CLIENT PAUSE ALL)', (ms: number) => clientPause(ms).then(() => new Promise((r) => setTimeout(r, ms)))],
    ])(
      'Redis %s mid-run: the runs stop advancing, then finish when it returns, no step repeated',
      async (how, pause) => {
        const dir = tempDir()
        const namespace = `outage-${how.split(' ')[0]}`
        const ds = redisStore({ url: redis.url }, { namespace })
        const engine = client(ds)
        try {
          const worker = startWorker('w', [
            '--redis',
            redis.url,
            '--namespace',
            namespace,
            '--log',
            join(dir, 'w.log'),
            '--lease',
            '5s',
            '--poll',
            '100ms',
          ])
          await worker.ready
          const ids = await produce(engine, 20, { steps: 6, stepMs: 30 })
          await waitUntil('the runs to be mid-way', () => endCount(join(dir, 'w.log')) >= 30, 20_000, 5)
          const frozenAt = preciseNow()
          await pause(1_500)
          const thawedAt = preciseNow()
          const beforeThaw = stepLines(readLogs(dir))
          await waitCompleted(engine, ids, 20_000)
          expect(await worker.stop()).toBe(0)

          const lines = readLogs(dir)
          const steps = stepLines(lines)
          // Nothing advanced while Redis was frozen. A step starts only once the commit of the step
          // before it is acknowledged, so during the freeze a run can start at most the one step whose
          // previous commit was acknowledged just before it (however late a loaded machine gets to it);
          // a second start would need a commit Redis never made. No timing window is involved.
          const startsDuringFreeze = new Map<string, number>()
          for (const l of beforeThaw)
            if (l.phase === 'start' && l.t > frozenAt && l.t < thawedAt)
              startsDuringFreeze.set(l.runId, (startsDuringFreeze.get(l.runId) ?? 0) + 1)
          expect([...startsDuringFreeze].filter(([, n]) => n > 1)).toEqual([])
          // The runs were mid-way at the freeze, and went on after it.
          const completedBefore = lines.filter((l) => l.type === 'run' && l.event === 'complete' && l.t < frozenAt)
          expect(completedBefore.length).toBeLessThan(ids.length)
          expect(steps.some((l) => l.phase === 'start' && l.t > thawedAt)).toBe(true)
          // No step ran twice, each was committed once, each run completed once.
          expect([...startsByStep(steps).values()].filter((s) => s.length !== 1)).toEqual([])
          expect(startsByStep(steps).size).toBe(ids.length * 6)
          const done = completions(lines)
          expect(ids.filter((id) => done.get(id)?.length !== 1)).toEqual([])
          for (const id of ids) expect([...(await commits(ds, id))].length).toBe(6)
        } finally {
          await ds.close?.()
        }
      },
      40_000,
    )
  })
})
