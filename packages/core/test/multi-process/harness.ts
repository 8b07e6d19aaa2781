// Helpers of the multi-process tests: worker processes, their logs, and checks over what they did.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createEngine, type Datastore, type Engine, jsonSerializer, silentLogger } from '../../src/index.js'
import { type LogLine, makeWorkflows } from './workflows.js'

const here = fileURLToPath(new URL('.', import.meta.url))

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` every `every` ms until it returns a truthy value; throws after `timeoutMs` saying what it waited for. */
export const waitUntil = async <T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, every = 25): Promise<NonNullable<T>> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(every)
  }
}

const dirs: string[] = []
/** A fresh directory under the OS temp dir, removed by {@link cleanup}. */
export const tempDir = (prefix = 'do-mp-') => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

export interface Worker {
  name: string
  child: ChildProcess
  pid: number
  /** Resolves with the engine id once the engine started. */
  ready: Promise<string>
  exited: Promise<number | null>
  output(): string
  /** SIGTERM (graceful `engine.stop()`), then waits for the exit (SIGKILL after `ms`). */
  stop(ms?: number): Promise<number | null>
}

const live = new Set<ChildProcess>()

/** Starts `worker.ts` in its own process with the given arguments (see worker.ts). */
export const startWorker = (name: string, args: string[]): Worker => {
  const child = spawn(process.execPath, ['--import', './register-ts.mjs', 'worker.ts', ...args], {
    cwd: here,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child)
      resolve(code)
    }),
  )
  const ready = (async () => {
    const until = Date.now() + 30_000
    for (;;) {
      const m = /ready (\S+)/.exec(out)
      if (m) return m[1] as string
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker ${name} exited before it was ready:\n${out}`)
      if (Date.now() > until) throw new Error(`worker ${name} not ready after 30 s:\n${out}`)
      await sleep(20)
    }
  })()
  ready.catch(() => {})
  return {
    name,
    child,
    pid: child.pid as number,
    ready,
    exited,
    output: () => out,
    async stop(ms = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT')
        child.kill('SIGTERM')
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), ms)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Kills every worker still alive (a failed test's leftovers) and removes the temp dirs. */
export const cleanup = async () => {
  await Promise.all(
    [...live].map((child) => {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      return gone
    }),
  )
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Every line of every `*.log` file in `dir`. */
export const readLogs = (dir: string): LogLine[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogLine),
    )

export type StepLine = Extract<LogLine, { type: 'step' }>
export const stepLines = (lines: LogLine[]) => lines.filter((l): l is StepLine => l.type === 'step')

/** An engine in the test process that never starts: it only writes runs and reads them. */
export const client = (store: Datastore): Engine => {
  const { steps, signalled, keyed, limited, ticked } = makeWorkflows({ logFile: '/dev/null' })
  return createEngine({ store, workflows: [steps, signalled, keyed, limited, ticked], multiProcess: true, logger: silentLogger })
}

/** Triggers `n` runs of `mp-steps` (ids `${prefix}-${i}`); the started workers claim them. */
export const produce = async (engine: Engine, n: number, input: { steps: number; stepMs: number }, prefix = 'r') => {
  const { steps } = makeWorkflows({ logFile: '/dev/null' })
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await engine.trigger(steps, input, { id: `${prefix}-${i}` })).id)
  return ids
}

/** Status of every run (one scan of the run records). */
export const statuses = async (engine: Engine) => {
  const out = new Map<string, string>()
  let cursor: string | undefined
  do {
    const page = await engine.listRuns({ limit: 1000, ...(cursor ? { cursor } : {}) })
    for (const r of page.runs) out.set(r.id, r.status)
    cursor = page.nextCursor
  } while (cursor)
  return out
}

/** Waits until every run in `ids` is completed (fails early if one failed). */
export const waitCompleted = (engine: Engine, ids: string[], timeoutMs = 30_000) =>
  waitUntil(
    `${ids.length} runs to complete`,
    async () => {
      const all = await statuses(engine)
      const failed = ids.filter((id) => all.get(id) === 'failed')
      if (failed.length) throw new Error(`runs failed: ${failed.join(', ')}`)
      return ids.every((id) => all.get(id) === 'completed')
    },
    timeoutMs,
    100,
  )

/** The lease (Unix ms, engine clock) a run's record holds now; 0 when nobody holds it. */
export const leaseOf = async (store: Datastore, runId: string): Promise<number> => {
  const got = await store.get(`run/${runId}`)
  return got ? ((jsonSerializer.decode(got.value) as { leaseUntil?: number }).leaseUntil ?? 0) : 0
}

/** The raw journal of a run: how many `done` entries each step id has (a step committed twice would show 2). */
export const commits = async (store: Datastore, runId: string) => {
  const count = new Map<string, number>()
  for (const item of await store.list(`jrn/${runId}!`)) {
    const e = jsonSerializer.decode(item.value) as { id: string; status: string }
    if (e.status === 'done') count.set(e.id, (count.get(e.id) ?? 0) + 1)
  }
  return count
}

/** Executions of steps as time intervals (a start without an end lasts until `openUntil`). */
export const intervals = (lines: StepLine[], openUntil: (l: StepLine) => number) => {
  const open = new Map<string, StepLine>()
  const out: { runId: string; stepId: string; pid: number; start: number; end: number }[] = []
  for (const l of [...lines].sort((a, b) => a.t - b.t)) {
    const k = `${l.runId} ${l.stepId} ${l.pid}`
    if (l.phase === 'start') open.set(k, l)
    else {
      const s = open.get(k)
      if (!s) throw new Error(`end without start: ${JSON.stringify(l)}`)
      open.delete(k)
      out.push({ runId: l.runId, stepId: l.stepId, pid: l.pid, start: s.t, end: l.t })
    }
  }
  for (const s of open.values()) out.push({ runId: s.runId, stepId: s.stepId, pid: s.pid, start: s.t, end: openUntil(s) })
  return out
}

/** Pairs of step executions of one run that overlap in time (there must be none: one owner at a time). */
export const overlaps = (ivs: ReturnType<typeof intervals>) => {
  const byRun = new Map<string, typeof ivs>()
  for (const iv of ivs) byRun.set(iv.runId, [...(byRun.get(iv.runId) ?? []), iv])
  const bad: string[] = []
  for (const [runId, list] of byRun) {
    list.sort((a, b) => a.start - b.start)
    let last = list[0]
    for (const iv of list.slice(1)) {
      if (last && iv.start < last.end)
        bad.push(`${runId}: ${last.stepId}@${last.pid} [${last.start}, ${last.end}] and ${iv.stepId}@${iv.pid} starts ${iv.start}`)
      if (!last || iv.end > last.end) last = iv
    }
  }
  return bad
}

/** `runId stepId` → its start lines, in time order. */
export const startsByStep = (lines: StepLine[]) => {
  const out = new Map<string, StepLine[]>()
  for (const l of [...lines].sort((a, b) => a.t - b.t)) {
    if (l.phase !== 'start') continue
    const k = `${l.runId} ${l.stepId}`
    out.set(k, [...(out.get(k) ?? []), l])
  }
  return out
}

/** Pids of the processes that completed each run (the `workflow:complete` hook). */
export const completions = (lines: LogLine[]) => {
  const out = new Map<string, number[]>()
  for (const l of lines) if (l.type === 'run' && l.event === 'complete') out.set(l.runId, [...(out.get(l.runId) ?? []), l.pid])
  return out
}

/** Steps one worker started and has not ended (read from its own log file). */
export const openSteps = (file: string): StepLine[] => {
  if (!existsSync(file)) return []
  const open = new Map<string, StepLine>()
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const line = JSON.parse(l) as LogLine
    if (line.type !== 'step') continue
    if (line.phase === 'start') open.set(`${line.runId} ${line.stepId}`, line)
    else open.delete(`${line.runId} ${line.stepId}`)
  }
  return [...open.values()]
}

/** Number of lines of `type: 'step', phase: 'end'` in one worker's log. */
export const endCount = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('"phase":"end"').length - 1 : 0)
