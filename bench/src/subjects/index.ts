import type { SubjectFactory } from '../workload.js'
import { doMemory, doRedis, doSqlite, doSqlite3 } from './do-sdk.js'
import { doMemoryHotKey, doMemoryKeys, doRedisHotKey, doRedisKeys, doSqliteHotKey, doSqliteKeys } from './flow.js'
import { bullmq, langgraphMemory, langgraphSqlite, tanstackMemory } from './peers.js'
import { dbos, doPostgres, rawPg, storePg, tanstack } from './postgres.js'
import { plain, rawRedis, rawRedisPipelined, rawSqlite, rawSqliteBatched } from './raw.js'

export const SUBJECTS: Record<string, SubjectFactory> = {
  plain,
  'do-memory': doMemory,
  'langgraph-memory': langgraphMemory,
  'tanstack-memory': tanstackMemory,
  'raw-sqlite': rawSqlite,
  'raw-sqlite-batched': rawSqliteBatched,
  'do-sqlite': doSqlite,
  'do-sqlite3': doSqlite3,
  'langgraph-sqlite': langgraphSqlite,
  'raw-redis': rawRedis,
  'raw-redis-pipelined': rawRedisPipelined,
  'do-redis': doRedis,
  bullmq,
  'raw-postgres': rawPg,
  'do-postgres': doPostgres,
  'store-postgres': storePg,
  'dbos-postgres': dbos,
  'tanstack-postgres': tanstack,
  'do-memory-keys': doMemoryKeys,
  'do-memory-hot-key': doMemoryHotKey,
  'do-sqlite-keys': doSqliteKeys,
  'do-sqlite-hot-key': doSqliteHotKey,
  'do-redis-keys': doRedisKeys,
  'do-redis-hot-key': doRedisHotKey,
}
