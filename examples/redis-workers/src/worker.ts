// A worker: an engine process that executes runs. Start as many as you like, on as many machines
// as you like, all on the same Redis: each run advances in one of them at a time, and the runs of a
// worker that dies are taken over by the others once its lease expires.
//
//   WORKER_NAME=worker-a REDIS_URL=redis://127.0.0.1:6379 pnpm worker
import { createEngine, parseDuration } from '@do-sdk/core'
import { openStore } from './config.js'
import { fulfilOrder, workerName } from './orders.js'

const store = openStore()
const engine = createEngine({
  store,
  workflows: [fulfilOrder],
  multiProcess: true,
  // A stable id per worker: restarted after a crash, it takes its own runs back at once instead
  // of waiting for their lease. Never give two live processes the same id.
  engineId: workerName,
  concurrency: Number(process.env.CONCURRENCY ?? 10),
  lease: parseDuration(process.env.LEASE ?? '5s', 'LEASE'),
  pollInterval: parseDuration(process.env.POLL ?? '1s', 'POLL'),
})

engine.hookRegistry.on('workflow:complete', ({ runId }) => console.log(`[${workerName}] completed ${runId}`))
engine.hookRegistry.on('workflow:resume', ({ runId, atStep }) => console.log(`[${workerName}] resumed ${runId} at ${atStep}`))
engine.hookRegistry.on('error', ({ source, error, runId }) =>
  console.warn(`[${workerName}] ${source}${runId ? ` (${runId})` : ''}: ${error.message}`),
)

// The engine's timers do not keep a process alive on their own; a worker has nothing else to do.
const keepAlive = setInterval(() => {}, 60_000)

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`[${workerName}] ${signal}: finishing the steps in flight, handing the runs over`)
  // Stops claiming, lets the steps in flight commit, and parks the runs it holds as due now: the
  // other workers take them at once (pub/sub wake-up), not after a lease.
  await engine.stop()
  await store.close?.()
  clearInterval(keepAlive)
  console.log(`[${workerName}] stopped`)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))

await engine.start()
console.log(`[${workerName}] ready (engine ${engine.engineId}, concurrency ${engine.concurrency})`)
