// The rows of the main table: what each subject is, and what it is compared with.

export interface Row {
  id: string
  label: string
  store: string
  /** Sequential latency is divided by these subjects' (lower is better). */
  seqVs: string[]
  /** Throughput is divided by these subjects' (higher is better). */
  tputVs: string[]
  redis?: boolean
}

const SQLITE = 'SQLite, WAL, synchronous=NORMAL'
const REDIS = 'Redis, AOF everysec'

export const ROWS: Row[] = [
  { id: 'plain', label: 'plain function calls', store: 'none', seqVs: [], tputVs: [] },
  {
    id: 'do-memory',
    label: 'do-sdk, memoryStore',
    store: 'memory (not durable)',
    seqVs: ['plain', 'tanstack-memory', 'langgraph-memory'],
    tputVs: ['plain', 'tanstack-memory', 'langgraph-memory'],
  },
  {
    id: 'tanstack-memory',
    label: 'TanStack Workflow, in-memory store',
    store: 'memory (not durable)',
    seqVs: ['plain'],
    tputVs: ['plain'],
  },
  { id: 'langgraph-memory', label: 'LangGraph.js, MemorySaver', store: 'memory (not durable)', seqVs: ['plain'], tputVs: ['plain'] },
  { id: 'raw-sqlite', label: 'raw: 3 INSERTs, better-sqlite3, a transaction each', store: SQLITE, seqVs: [], tputVs: [] },
  {
    id: 'raw-sqlite-batched',
    label: 'raw: 3 INSERTs, better-sqlite3, a transaction per event-loop turn',
    store: SQLITE,
    seqVs: ['raw-sqlite'],
    tputVs: ['raw-sqlite'],
  },
  {
    id: 'do-sqlite',
    label: 'do-sdk, sqliteStore (better-sqlite3)',
    store: SQLITE,
    seqVs: ['raw-sqlite', 'langgraph-sqlite'],
    tputVs: ['raw-sqlite-batched', 'raw-sqlite', 'langgraph-sqlite'],
  },
  {
    id: 'do-sqlite3',
    label: 'do-sdk, sqliteStore (sqlite3 driver)',
    store: SQLITE,
    seqVs: ['raw-sqlite', 'langgraph-sqlite'],
    tputVs: ['raw-sqlite-batched', 'raw-sqlite', 'langgraph-sqlite'],
  },
  {
    id: 'langgraph-sqlite',
    label: 'LangGraph.js, SqliteSaver (durability "sync")',
    store: SQLITE,
    seqVs: ['raw-sqlite'],
    tputVs: ['raw-sqlite-batched'],
  },
  { id: 'raw-redis', label: 'raw: 3 SETs, one client', store: REDIS, seqVs: [], tputVs: [], redis: true },
  {
    id: 'raw-redis-pipelined',
    label: 'raw: 3 SETs, pipelined per event-loop turn',
    store: REDIS,
    seqVs: ['raw-redis'],
    tputVs: ['raw-redis'],
    redis: true,
  },
  {
    id: 'do-redis',
    label: 'do-sdk, redisStore',
    store: REDIS,
    seqVs: ['raw-redis', 'bullmq'],
    tputVs: ['raw-redis-pipelined', 'bullmq'],
    redis: true,
  },
  {
    id: 'bullmq',
    label: 'BullMQ, one job, updateData after each step',
    store: REDIS,
    seqVs: ['raw-redis'],
    tputVs: ['raw-redis-pipelined'],
    redis: true,
  },
]

/** Short names used in the ratio columns. */
export const SHORT: Record<string, string> = {
  plain: 'plain',
  'do-memory': 'do-sdk memory',
  'tanstack-memory': 'TanStack mem',
  'langgraph-memory': 'LangGraph mem',
  'raw-sqlite': 'raw sqlite',
  'raw-sqlite-batched': 'raw sqlite batched',
  'do-sqlite': 'do-sdk sqlite',
  'do-sqlite3': 'do-sdk sqlite3',
  'langgraph-sqlite': 'LangGraph sqlite',
  'raw-redis': 'raw redis',
  'raw-redis-pipelined': 'raw redis pipelined',
  'do-redis': 'do-sdk redis',
  bullmq: 'BullMQ',
}
