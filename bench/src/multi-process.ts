// Multi-process throughput on one Redis: the same N runs (3-step workflows) executed by 1, 2 and 3
// engine processes, timed from "go" until every run completed. Two scenarios:
// - engine-bound: steps return at once, 50 runs in flight per process: what the engine and Redis
//   cost per run; more processes help only while there are free CPU cores (Redis needs one too);
// - I/O-bound: each step waits 50 ms (an external API), 10 runs in flight per process: the
//   per-process concurrency is the limit, and adding processes adds throughput.
// One standalone file: it is the coordinator and, started again with --worker, each worker process.
//
//   npx tsx bench/src/multi-process.ts                      (from the repo root, or from bench/)
//   npx tsx bench/src/multi-process.ts --runs 3000 --io-runs 900 --processes 1,2,3,4
//
// Starts its own redis-server (`REDIS_SERVER_BIN` or the first on PATH) on a free port, no persistence.
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:net'
import { cpus } from 'node:os'
import { delimiter, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const self = fileURLToPath(import.meta.url)
const benchDir = join(self, '..', '..')

const { values: opts } = parseArgs({
  options: {
    /** Runs of the engine-bound scenario (0 skips it). */
    runs: { type: 'string', default: '1500' },
    /** Runs of the I/O-bound scenario (0 skips it). */
    'io-runs': { type: 'string', default: '600' },
    processes: { type: 'string', default: '1,2,3' },
    worker: { type: 'string' },
  },
})

// Workers and this script import @do-sdk/* as TypeScript sources: tsx maps them through bench's
// tsconfig paths. Run from elsewhere (the repo root), re-run under that tsconfig first.
if (!process.env.TSX_TSCONFIG_PATH) {
  const child = spawn(process.execPath, [...process.execArgv, self, ...process.argv.slice(2)], {
    cwd: process.cwd(),
    env: { ...process.env, TSX_TSCONFIG_PATH: join(benchDir, 'tsconfig.json') },
    stdio: 'inherit',
  })
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else if (opts.worker) {
  await worker(JSON.parse(opts.worker) as WorkerConfig)
} else {
  await coordinator()
}

interface WorkerConfig {
  url: string
  namespace: string
  concurrency: number
  stepMs: number
}

/** The benchmark workflow: three action steps, each waiting `stepMs` (0: engine and store overhead only). */
async function definitions(stepMs: number) {
  const { action, workflow } = await import('@do-sdk/core')
  const { z } = await import('zod')
  const work = action.create({
    id: 'bench-step',
    description: 'Returns its input after stepMs of simulated latency.',
    input: z.object({ n: z.number() }),
    execute: async ({ n }) => {
      if (stepMs > 0) await new Promise((r) => setTimeout(r, stepMs))
      return { n: n + 1 }
    },
  })
  const threeSteps = workflow.create({
    id: 'bench-three-steps',
    input: z.object({ n: z.number() }),
    async run({ input, step }) {
      const a = await step.run(work, { n: input.n })
      const b = await step.run(work, { n: a.n })
      return step.run(work, { n: b.n })
    },
  })
  return { threeSteps }
}

/** A worker process: loads, says `loaded`, starts its engine on `go`, prints `c` per completed run. */
async function worker(config: WorkerConfig) {
  const { createEngine, silentLogger } = await import('@do-sdk/core')
  const { redisStore } = await import('@do-sdk/store-redis')
  const { threeSteps } = await definitions(config.stepMs)
  const store = redisStore({ url: config.url }, { namespace: config.namespace })
  const engine = createEngine({
    store,
    workflows: [threeSteps],
    multiProcess: true,
    concurrency: config.concurrency,
    pollInterval: '100ms',
    logger: silentLogger,
  })
  let steps = 0
  let completed = 0
  engine.hookRegistry.on('step:complete', ({ replayed }) => {
    if (!replayed) steps++
  })
  engine.hookRegistry.on('workflow:complete', () => {
    completed++
  })
  // Completions are reported in batches (one write per 20 ms), not one line per run.
  let reported = 0
  const report = setInterval(() => {
    if (completed > reported) {
      process.stdout.write(`completed ${completed - reported}\n`)
      reported = completed
    }
  }, 20)
  await store.get('warm-up') // connect before the clock starts
  const lines = createInterface({ input: process.stdin })
  lines.on('line', async (line) => {
    if (line === 'go') {
      await engine.start()
    } else if (line === 'stop') {
      await engine.stop()
      clearInterval(report)
      if (completed > reported) process.stdout.write(`completed ${completed - reported}\n`)
      process.stdout.write(`stats ${JSON.stringify({ steps, completed })}\n`)
      await store.close?.()
      process.exit(0)
    }
  })
  process.stdout.write('loaded\n')
}

interface Row {
  processes: number
  runs: number
  seconds: number
  perProcess: number[]
  stepsExecuted: number
}

async function coordinator() {
  const counts = String(opts.processes).split(',').map(Number)
  const scenarios = [
    { name: 'engine-bound: steps return at once, concurrency 50 per process', runs: Number(opts.runs), stepMs: 0, concurrency: 50 },
    { name: 'I/O-bound: each step waits 50 ms, concurrency 10 per process', runs: Number(opts['io-runs']), stepMs: 50, concurrency: 10 },
  ].filter((s) => s.runs > 0)
  const redis = await startRedis()
  console.log(
    `multi-process throughput on one redis-server ${redis.version}: 3-step runs, ${cpus().length} CPU(s) (${cpus()[0]?.model.trim()}), Node ${process.version}`,
  )
  const tables: string[] = []
  try {
    for (const sc of scenarios) {
      console.log(`\n${sc.name}, ${sc.runs} runs`)
      const rows: Row[] = []
      for (const n of counts) {
        const r = await round(redis.url, n, sc.runs, sc.concurrency, sc.stepMs)
        rows.push(r)
        console.log(`  ${n} process(es): ${(r.runs / r.seconds).toFixed(0)} runs/s (${r.seconds.toFixed(2)} s)`)
      }
      tables.push(`${sc.name}, ${sc.runs} runs\n\n${format(rows)}`)
    }
  } finally {
    await redis.stop()
  }
  console.log(`\n${tables.join('\n\n')}`)
}

function format(rows: Row[]) {
  const base = rows[0] ? rows[0].runs / rows[0].seconds : 1
  const table = [
    ['processes', 'runs', 'seconds', 'runs/s', 'steps/s', 'speed-up', 'runs per process'],
    ...rows.map((r) => [
      String(r.processes),
      String(r.runs),
      r.seconds.toFixed(2),
      (r.runs / r.seconds).toFixed(0),
      ((r.runs * 3) / r.seconds).toFixed(0),
      `${(r.runs / r.seconds / base).toFixed(2)}x`,
      r.perProcess.join(' / '),
    ]),
  ]
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const last = widths.length - 1
  const line = (row: string[]) => `| ${row.map((c, i) => (i === last ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === last ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(table[0]!), rule, ...table.slice(1).map(line)].join('\n')
}

/** One measurement: fresh namespace, runs written first, then `n` workers started together. */
async function round(url: string, n: number, runs: number, concurrency: number, stepMs: number): Promise<Row> {
  const { createEngine, silentLogger } = await import('@do-sdk/core')
  const { redisStore } = await import('@do-sdk/store-redis')
  const { threeSteps } = await definitions(stepMs)
  const namespace = `bench-mp-${n}-${Date.now()}`
  const store = redisStore({ url }, { namespace })
  // Never started: trigger only writes the runs, which the workers then claim.
  const producer = createEngine({ store, workflows: [threeSteps], multiProcess: true, logger: silentLogger })
  for (let i = 0; i < runs; i++) await producer.trigger(threeSteps, { n: i }, { id: `run-${i}` })

  const config: WorkerConfig = { url, namespace, concurrency, stepMs }
  const workers = Array.from({ length: n }, () => startWorker(config))
  try {
    await Promise.all(workers.map((w) => w.waitFor((l) => l === 'loaded')))
    let done = 0
    const finished = new Promise<void>((resolve) => {
      for (const w of workers)
        w.onLine((l) => {
          if (!l.startsWith('completed ')) return
          const k = Number(l.slice('completed '.length))
          w.completed += k
          done += k
          if (done >= runs) resolve()
        })
    })
    const started = performance.now()
    for (const w of workers) w.send('go')
    await finished
    const seconds = (performance.now() - started) / 1000
    const stats = await Promise.all(
      workers.map(async (w) => {
        const line = w.waitFor((l) => l.startsWith('stats '))
        w.send('stop')
        return JSON.parse((await line).slice('stats '.length)) as { steps: number; completed: number }
      }),
    )
    // Check what was measured: every run completed, and no step executed twice.
    const { runs: completed } = await producer.listRuns({ status: 'completed', limit: runs + 1 })
    if (completed.length !== runs) throw new Error(`${completed.length} of ${runs} runs completed`)
    const stepsExecuted = stats.reduce((a, s) => a + s.steps, 0)
    if (stepsExecuted !== runs * 3) throw new Error(`${stepsExecuted} step executions for ${runs * 3} steps`)
    return { processes: n, runs, seconds, perProcess: workers.map((w) => w.completed), stepsExecuted }
  } finally {
    for (const w of workers) w.kill()
    await store.close?.()
  }
}

function startWorker(config: WorkerConfig) {
  const child = spawn(process.execPath, [...process.execArgv, self, '--worker', JSON.stringify(config)], {
    cwd: benchDir,
    env: process.env,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const listeners: ((line: string) => void)[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    for (const l of listeners) l(line)
  })
  const handle = {
    child,
    completed: 0,
    onLine: (fn: (line: string) => void) => listeners.push(fn),
    send: (line: string) => child.stdin!.write(`${line}\n`),
    waitFor: (match: (line: string) => boolean) =>
      new Promise<string>((resolve, reject) => {
        listeners.push((l) => match(l) && resolve(l))
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
      }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
  return handle
}

/** A throwaway redis-server on 127.0.0.1 and a free port, no persistence. */
async function startRedis(): Promise<{ url: string; version: string; stop(): Promise<void> }> {
  const bin = [process.env.REDIS_SERVER_BIN, ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'redis-server'))].find((f) => {
    if (!f) return false
    try {
      accessSync(f, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
  if (!bin) throw new Error('redis-server not found: install it (apt-get install redis-server) or set REDIS_SERVER_BIN')
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
  const child: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000)
    const onData = (d: Buffer) => {
      out += d
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)))
  })
  const exited = new Promise((r) => child.once('exit', r))
  return {
    url: `redis://127.0.0.1:${port}`,
    version: /version=([\d.]+)/.exec(out)?.[1] ?? '',
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
