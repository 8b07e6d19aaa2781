// A throwaway redis-server for the benchmarks, with the durability the issue compares at:
// AOF on, fsync every second, no RDB snapshots, its files in a fresh temp dir. Started by the same
// helper as the Redis tests (which run without persistence), plus what the bench reports: the
// server's version and its CPU time.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@redis/client'
import { findRedisServer, startRedis } from '../../packages/store-redis/test/redis-server.js'

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

export const redisVersion = (): string => {
  const bin = findRedisServer()
  if (!bin) return 'not installed'
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' })
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim()
}

/** Starts redis-server on a free 127.0.0.1 port with AOF everysec, its files in a fresh temp dir. */
export const startBenchRedis = async (): Promise<BenchRedis> => {
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-bench-redis-'))
  const args = [...REDIS_DURABILITY, '--maxmemory-policy', 'noeviction']
  const server = await startRedis({ args, dir }).catch((error) => {
    rmSync(dir, { recursive: true, force: true })
    throw error
  })
  const pid = server.process.pid as number
  return {
    url: server.url,
    port: server.port,
    version: redisVersion(),
    args,
    pid,
    cpuMs: () => cpuMsOf(pid),
    async stop() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** `INFO commandstats`: calls per command since the server started (or the last CONFIG RESETSTAT). */
export const redisCommandCalls = async (url: string): Promise<Record<string, number>> => {
  const client = createClient({ url })
  await client.connect()
  try {
    const info = await client.info('commandstats')
    const calls: Record<string, number> = {}
    for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) calls[m[1] as string] = Number(m[2])
    return calls
  } finally {
    await client.close()
  }
}

export const flushRedis = async (url: string) => {
  const client = createClient({ url })
  await client.connect()
  await client.flushAll()
  await client.close()
}
