// Runs one measurement script in a child process (node + tsx) and returns its `RESULT {json}` line.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')

const DIST = ['core', 'store-sqlite', 'store-redis', 'store-postgres'].map((p) => join(BENCH_DIR, '..', 'packages', p, 'dist', 'index.js'))

/**
 * Which do-sdk code the children run: the built packages (`dist/`, what users run; `pnpm bench`
 * builds first), or the TypeScript sources through tsx's tsconfig paths when a build is missing or
 * `DO_SDK_BENCH_SRC=1`.
 */
export const engineCode = (): 'dist' | 'src' => (process.env.DO_SDK_BENCH_SRC === '1' || !DIST.every((f) => existsSync(f)) ? 'src' : 'dist')

export interface ChildOptions {
  /** Extra node flags (--expose-gc, --cpu-prof …). */
  nodeArgs?: string[]
  timeoutMs?: number
}

export class ChildError extends Error {}

/** Spawns `src/<script>` under tsx from the bench folder; its output accumulates in `output`. */
export const spawnScript = (script: string, args: string[], options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}) => {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', join('src', script), ...args], {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  })
  const output = { stdout: '', stderr: '' }
  child.stdout?.on('data', (d: Buffer) => {
    output.stdout += d
  })
  child.stderr?.on('data', (d: Buffer) => {
    output.stderr += d
  })
  return { child, output }
}

export const runChild = <T>(script: string, arg: unknown, options: ChildOptions = {}): Promise<T> =>
  new Promise((resolve, reject) => {
    const { child, output } = spawnScript(script, [JSON.stringify(arg)], {
      nodeArgs: options.nodeArgs,
      env: { ...process.env, NODE_ENV: 'production', TSX_TSCONFIG_PATH: engineCode() === 'dist' ? 'tsconfig.dist.json' : 'tsconfig.json' },
    })
    const timeoutMs = options.timeoutMs ?? 300_000
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new ChildError(`${script} timed out after ${Math.round(timeoutMs / 1000)} s`))
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = output.stdout.split('\n').find((l) => l.startsWith('RESULT '))
      if (code === 0 && line) return resolve(JSON.parse(line.slice('RESULT '.length)) as T)
      const why = output.stderr.trim().split('\n').slice(0, 6).join(' | ') || `exit ${code ?? signal}`
      reject(new ChildError(`${script} failed: ${why}`))
    })
  })

/** The child's side: runs `main`, prints what it resolves as the one `RESULT {json}` line, and exits (1 on an error). */
export const runAsChild = (main: () => Promise<unknown>) =>
  main().then(
    (result) => {
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
      process.exit(0)
    },
    (error) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error)
      process.exit(1)
    },
  )
