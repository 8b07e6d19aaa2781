// One engine process of the multi-process tests. Run it as a real child process:
//   node --import ./register-ts.mjs worker.ts --redis redis://127.0.0.1:6390 --namespace t1 --log w1.log
//   node --import ./register-ts.mjs worker.ts --sqlite /tmp/x/runs.db --log w1.log
//   node --import ./register-ts.mjs worker.ts --postgres postgres://u:p@127.0.0.1:5432/db --namespace t1 --log w1.log
// Options: --trigger-limited N (triggers N runs of mp-limited, logging each outcome), --lease 1s, --poll 200ms, --concurrency 20, --engine-id id, --drain-timeout 10s,
// --block-step work#2 (that step's action never returns), --pause-after-commit <runId>:<stepId> (the
// process SIGSTOPs itself right after that step's commit reaches the store, before it goes on).
// Prints `ready <engineId>` once started; SIGTERM stops the engine gracefully and exits 0.
import { parseArgs } from 'node:util'
import { postgresStore } from '@do-sdk/store-postgres'
import { redisStore } from '@do-sdk/store-redis'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { createEngine, type Datastore, jsonSerializer, parseDuration, silentLogger } from '../../src/index.js'
import { makeWorkflows, preciseNow } from './workflows.js'

const { values: opts } = parseArgs({
  options: {
    redis: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    sqlite: { type: 'string' },
    postgres: { type: 'string' },
    log: { type: 'string' },
    lease: { type: 'string', default: '1s' },
    poll: { type: 'string', default: '200ms' },
    concurrency: { type: 'string', default: '100' },
    'engine-id': { type: 'string' },
    'drain-timeout': { type: 'string', default: '10s' },
    'block-step': { type: 'string' },
    'pause-after-commit': { type: 'string' },
    'trigger-limited': { type: 'string' },
  },
})
if (!opts.log || (!opts.redis && !opts.sqlite && !opts.postgres)) {
  console.error(
    'usage: worker.ts (--redis <url> [--namespace ns] | --postgres <url> [--namespace ns] | --sqlite <path>) --log <file> [options]',
  )
  process.exit(2)
}

const base: Datastore = opts.redis
  ? redisStore({ url: opts.redis }, { namespace: opts.namespace })
  : opts.postgres
    ? postgresStore({ connectionString: opts.postgres }, { namespace: opts.namespace })
    : sqliteStore({ path: opts.sqlite as string })

/** Freezes this process (as a long GC pause or a VM stall would) right after the commit of one step lands. */
const pausing = (store: Datastore, target: string): Datastore => {
  const [runId, stepId] = [target.slice(0, target.lastIndexOf(':')), target.slice(target.lastIndexOf(':') + 1)]
  let done = false
  return {
    ...store,
    async batch(ops) {
      const res = await store.batch(ops)
      if (done || !res.ok || !ops.some((op) => op.key === `run/${runId}`)) return res
      const committed = ops.some((op) => {
        if (op.op !== 'set' || !op.key.startsWith(`jrn/${runId}!`)) return false
        const entry = jsonSerializer.decode(op.value) as { id?: string; status?: string }
        return entry.id === stepId && entry.status === 'done'
      })
      if (committed) {
        done = true
        process.kill(process.pid, 'SIGSTOP')
      }
      return res
    },
  }
}

const store = opts['pause-after-commit'] ? pausing(base, opts['pause-after-commit']) : base
const { steps, signalled, keyed, limited, ticked, log } = makeWorkflows({ logFile: opts.log, blockStep: opts['block-step'] })
const engine = createEngine({
  store,
  workflows: [steps, signalled, keyed, limited, ticked],
  multiProcess: true,
  lease: parseDuration(opts.lease, 'lease'),
  pollInterval: parseDuration(opts.poll, 'poll'),
  concurrency: Number(opts.concurrency),
  drainTimeout: parseDuration(opts['drain-timeout'], 'drain-timeout'),
  ...(opts['engine-id'] ? { engineId: opts['engine-id'] } : {}),
  logger: silentLogger,
})
const pid = process.pid
engine.hookRegistry.on('error', ({ source, error, runId }) =>
  log({ type: 'error', source, message: `${error.name}: ${error.message}`, ...(runId ? { runId } : {}), pid, t: preciseNow() }),
)
engine.hookRegistry.on('workflow:start', ({ runId }) => log({ type: 'run', event: 'start', runId, pid, t: preciseNow() }))
engine.hookRegistry.on('workflow:resume', ({ runId }) => log({ type: 'run', event: 'resume', runId, pid, t: preciseNow() }))
engine.hookRegistry.on('workflow:complete', ({ runId }) => log({ type: 'run', event: 'complete', runId, pid, t: preciseNow() }))

// The engine's timers are unref'd: on SQLite (no socket open) nothing else would keep this process alive.
const keepAlive = setInterval(() => {}, 60_000)
let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  clearInterval(keepAlive)
  engine
    .stop()
    .then(() => store.close?.())
    .then(
      () => process.exit(0),
      (error) => {
        console.error(error)
        process.exit(1)
      },
    )
})

await engine.start()
console.log(`ready ${engine.engineId}`)

// --trigger-limited N: triggers N runs of the rate-limited workflow as fast as it can, logging which were admitted.
if (opts['trigger-limited']) {
  for (let n = 0; n < Number(opts['trigger-limited']); n++) {
    const admitted = await engine.trigger(limited, { n }).then(
      () => true,
      (e: { code?: string }) => {
        if (e.code !== 'ERR_RATE_LIMITED') throw e
        return false
      },
    )
    log({ type: 'trigger', admitted, pid, t: preciseNow() })
    await new Promise((r) => setTimeout(r, 60))
  }
  console.log('triggered')
}
