// A throwaway redis-server for the benchmarks, with the durability the issue compares at:
// AOF on, fsync every second, no RDB snapshots. (packages/store-redis/test/redis-server.ts starts
// one without persistence, which is right for tests and wrong for a durability comparison.)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface BenchRedis {
  url: string
  port: number
  version: string
  /** The flags it was started with (printed with the machine info). */
  args: string[]
  pid: number
  /** CPU time the server has used so far (user + system), in ms; NaN where /proc is missing. */
  cpuMs(): number
  stop(): Promise<void>
}

/** Linux clock ticks per second (`getconf CLK_TCK`), 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100

const cpuMsOf = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

export const REDIS_DURABILITY = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec']

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const redisBin = () => process.env.REDIS_SERVER_BIN ?? 'redis-server'

export const redisVersion = (): string => {
  try {
    const out = execFileSync(redisBin(), ['--version'], { encoding: 'utf8' })
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim()
  } catch {
    return 'not installed'
  }
}

const launch = (port: number, dir: string, args: string[]) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(redisBin(), ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server did not start on port ${port} within 10 s:\n${output}`))
    }, 10_000)
    const onData = (chunk: Buffer) => {
      output += chunk
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
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

/** Starts redis-server on a free 127.0.0.1 port with AOF everysec, its files in a fresh temp dir. */
export const startBenchRedis = async (): Promise<BenchRedis> => {
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-bench-redis-'))
  const args = [...REDIS_DURABILITY, '--maxmemory-policy', 'noeviction']
  let child: ChildProcess | undefined
  let port = 0
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort()
    try {
      child = await launch(port, dir, args)
    } catch (error) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
    }
  }
  const server = child
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    version: redisVersion(),
    args,
    pid: server.pid as number,
    cpuMs: () => cpuMsOf(server.pid as number),
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGTERM')
        const timer = setTimeout(() => server.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
