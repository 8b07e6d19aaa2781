// A throwaway redis-server for tests: `const redis = await startRedis()` … `await redis.stop()`.
// Reusable from other packages' tests by relative path (packages/store-redis/test/redis-server.ts).
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'

/** A running redis-server on 127.0.0.1 (no persistence unless started with other `args`). */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string
  port: number
  process: ChildProcess
  /** Freezes the server (SIGSTOP) for `ms`, then resumes it (SIGCONT): clients see a server that does not answer. */
  freeze(ms: number): Promise<void>
  /** Kills the server and waits for it to exit. */
  stop(): Promise<void>
}

/** Path of the redis-server binary: `$REDIS_SERVER_BIN`, else the first `redis-server` on `PATH`; `undefined` when there is none. */
export const findRedisServer = (): string | undefined => {
  const candidates = process.env.REDIS_SERVER_BIN
    ? [process.env.REDIS_SERVER_BIN]
    : [
        ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server')),
        '/usr/bin/redis-server',
        '/usr/local/bin/redis-server',
      ]
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {}
  }
  return undefined
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Flags after `--port` and `--bind`. @default ['--save', '', '--appendonly', 'no'] (no persistence) */
  args?: string[]
  /** Working directory of the server (where an AOF goes). @default the current directory */
  dir?: string
}

const NO_PERSISTENCE = ['--save', '', '--appendonly', 'no']

const launch = (bin: string, port: number, args: string[], dir: string | undefined) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const flags = ['--port', String(port), '--bind', '127.0.0.1', ...(dir === undefined ? [] : ['--dir', dir]), ...args]
    const child = spawn(bin, flags, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server did not start on port ${port} within 10 s:\n${output}`))
    }, 10_000)
    const onData = (chunk: Buffer) => {
      output += chunk
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        // From here on its log is drained and dropped: a server that runs for long never fills the pipe.
        child.stdout?.removeListener('data', onData)
        child.stderr?.removeListener('data', onData)
        child.stdout?.resume()
        child.stderr?.resume()
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`))
    })
  })

/**
 * Starts `redis-server --port <free port> --bind 127.0.0.1` with `options.args` (by default
 * `--save '' --appendonly no`). Throws when the binary is missing (install `redis-server`, or set
 * `REDIS_SERVER_BIN`).
 */
export const startRedis = async (options: StartRedisOptions = {}): Promise<RedisServer> => {
  const bin = findRedisServer()
  if (!bin) throw new Error('redis-server not found on PATH: install it (apt-get install redis-server) or set REDIS_SERVER_BIN')
  let child: ChildProcess | undefined
  let port = 0
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort()
    try {
      child = await launch(bin, port, options.args ?? NO_PERSISTENCE, options.dir)
    } catch (error) {
      if (attempt >= 3) throw error // the port was taken between probe and launch: try another
    }
  }
  const server = child
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: server,
    async freeze(ms) {
      server.kill('SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, ms))
      server.kill('SIGCONT')
    },
    async stop() {
      if (server.exitCode !== null || server.signalCode !== null) return
      server.kill('SIGCONT')
      server.kill('SIGTERM')
      const timer = setTimeout(() => server.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * For test files: a started server, or — outside CI only — `undefined` with a loud warning when
 * redis-server is missing, so the Redis tests are skipped on a laptop without Redis. Under
 * `CI=true` a missing binary fails instead: CI never skips them.
 */
export const startRedisForTests = async (): Promise<RedisServer | undefined> => {
  if (findRedisServer() || process.env.CI === 'true') return startRedis()
  console.warn(
    '\n\n*** redis-server not found: SKIPPING the Redis tests. Install redis-server (or set REDIS_SERVER_BIN) to run them; CI=true makes this a failure. ***\n\n',
  )
  return undefined
}
