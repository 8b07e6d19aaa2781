// Helpers of the CLI tests: the real `do-sdk` bin as a child process, worker processes executing
// runs, an in-test engine that only triggers and reads, and polling with generous bounds.
//
// The bin runs from its TypeScript sources through the repo's loader (scripts/ts-hooks.mjs), not
// from dist/: vitest suites here run without a build (CONTRIBUTING), a dist/ would lag behind the
// sources of core that change under us, and other agents' builds empty core's dist/ while ours run.
// The built bin is checked by `pnpm --filter @do-sdk/cli build publint` and the pack check.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createEngine, type Datastore, type Engine, type RunStatus, silentLogger } from '@do-sdk/core'
import { makeWorkflows } from './fixtures/define.js'

const here = fileURLToPath(new URL('.', import.meta.url))
export const fixtures = join(here, 'fixtures')
const bin = join(here, '..', 'src', 'bin.ts')
const register = join(here, 'register-ts.mjs')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

const live = new Set<ChildProcess>()

/** Runs `do-sdk <args>` in a child process (cwd: the fixtures folder unless given) and resolves when it exits. */
export const cli = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', register, bin, ...args], {
      cwd: options.cwd ?? fixtures,
      env: { ...process.env, NO_COLOR: '1', DO_SDK_STORE: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    live.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    // A CLI that hangs is a failure, reported with what it printed.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      if (signal) reject(new Error(`do-sdk ${args.join(' ')} was killed (${signal}):\n${stdout}\n${stderr}`))
      else resolve({ code, stdout, stderr })
    })
  })

/** Parses the stdout of a `--json` run, saying what it got when that is not JSON. */
export const json = <T = any>(result: CliResult): T => {
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`not a JSON document (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves once Date.now() has moved past the millisecond it was called in. */
export const nextMs = async () => {
  const start = Date.now()
  while (Date.now() === start) await new Promise((resolve) => setImmediate(resolve))
}

/** Polls `check` until it returns a truthy value; throws after `timeoutMs`, saying what it waited for. */
export const waitUntil = async <T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

/** Waits until run `runId` has `status` (fails at once if it ends in another final status). */
export const waitStatus = (engine: Engine, runId: string, status: RunStatus) =>
  waitUntil(`run ${runId} to be ${status}`, async () => {
    const run = await engine.getRun(runId).catch(() => undefined)
    if (run && run.status !== status && ['completed', 'failed', 'cancelled'].includes(run.status))
      throw new Error(`run ${runId} is ${run.status}, not ${status}: ${JSON.stringify(run.error ?? run.output)}`)
    return run?.status === status ? run : undefined
  })

/** An engine in the test process that is never started: it triggers runs and reads them; workers execute them. */
export const client = (store: Datastore): Engine =>
  createEngine({ store, workflows: Object.values(makeWorkflows()), multiProcess: true, logger: silentLogger })

export interface Worker {
  output(): string
  stop(): Promise<void>
}

/** Starts test/fixtures/worker.ts on `store` and resolves once its engine started. */
export const startWorker = async (
  store: string,
  options: { namespace?: string; schema?: string; workflows?: string } = {},
): Promise<Worker> => {
  const args = ['--store', store, '--workflows', options.workflows ?? './v1.js']
  if (options.namespace) args.push('--namespace', options.namespace)
  if (options.schema) args.push('--schema', options.schema)
  const child = spawn(process.execPath, ['--import', register, join(fixtures, 'worker.ts'), ...args], {
    cwd: fixtures,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exited.then(() => live.delete(child))
  await waitUntil('the worker to start', () => {
    if (child.exitCode !== null) throw new Error(`the worker exited before it was ready:\n${out}`)
    return /ready \S+/.test(out)
  })
  return {
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

const dirs: string[] = []
/** A fresh directory under the OS temp dir, removed by {@link cleanup}. */
export const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-cli-'))
  dirs.push(dir)
  return dir
}

/** Kills what a failed test left running and removes the temp dirs. */
export const cleanup = async () => {
  await Promise.all(
    [...live].map((child) => {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      return gone
    }),
  )
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}
