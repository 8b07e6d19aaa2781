// What the numbers were measured on: printed before the tables and copied into docs/benchmarks.md.
import { readFileSync, realpathSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { BENCH_DIR } from './child.js'
import { REDIS_DURABILITY, redisVersion } from './redis-server.js'

/** Version of `name` as installed for the package in `from` (pnpm links direct dependencies there). */
const versionOf = (name: string, from = BENCH_DIR): string => {
  try {
    return (JSON.parse(readFileSync(join(from, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

/** Version of `name` as a dependency of `parent` (itself a dependency of `from`): pnpm puts them side by side. */
const nestedVersionOf = (name: string, parent: string, from: string): string => {
  try {
    const parentDir = realpathSync(join(from, 'node_modules', parent))
    const root = parent.startsWith('@') ? join(parentDir, '..', '..') : join(parentDir, '..')
    return versionOf(name, join(root, '..'))
  } catch {
    return '?'
  }
}

const sqliteVersion = () => {
  const db = new Database(':memory:')
  try {
    return (db.prepare('select sqlite_version() as v').get() as { v: string }).v
  } finally {
    db.close()
  }
}

export const machineInfo = (): string[] => {
  const cpu = cpus()
  const load = loadavg().map((l) => l.toFixed(2))
  const sqliteStoreDir = join(BENCH_DIR, '..', 'packages', 'store-sqlite')
  const redisStoreDir = join(BENCH_DIR, '..', 'packages', 'store-redis')
  return [
    `machine: ${cpu[0]?.model ?? '?'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform} ${process.arch}; load average at start ${load.join(' ')}`,
    `runtime: Node ${process.version}`,
    `do-sdk: core ${versionOf('@do-sdk/core')}, store-sqlite ${versionOf('@do-sdk/store-sqlite')}, store-redis ${versionOf('@do-sdk/store-redis')}`,
    `stores: better-sqlite3 ${versionOf('better-sqlite3')} (SQLite ${sqliteVersion()}), sqlite3 ${nestedVersionOf('sqlite3', '@keyv/sqlite', sqliteStoreDir)} via @keyv/sqlite ${versionOf('@keyv/sqlite', sqliteStoreDir)}, redis-server ${redisVersion()}, @redis/client ${versionOf('@redis/client')} (do-sdk via @keyv/redis ${versionOf('@keyv/redis', redisStoreDir)})`,
    `peers: bullmq ${versionOf('bullmq')}, @langchain/langgraph ${versionOf('@langchain/langgraph')}, @langchain/langgraph-checkpoint-sqlite ${versionOf('@langchain/langgraph-checkpoint-sqlite')}, @langchain/core ${versionOf('@langchain/core')}, @tanstack/workflow-core ${versionOf('@tanstack/workflow-core')}, @tanstack/workflow-runtime ${versionOf('@tanstack/workflow-runtime')}`,
    `durability: SQLite journal_mode=WAL, synchronous=NORMAL (do-sdk default; raw baselines and LangGraph set the same); Redis ${REDIS_DURABILITY.map((a) => (a === '' ? "''" : a)).join(' ')} (AOF, fsync every second)`,
  ]
}
