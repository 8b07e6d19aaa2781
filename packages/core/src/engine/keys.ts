import { createHash } from 'node:crypto'

/**
 * The engine's key space inside a Datastore. Every key is ASCII-prefixed so listing order is the
 * same on every adapter; ids are validated (`ids.ts`) so a `/` inside an id cannot be confused with
 * a separator: every prefix below ends with the separator that follows a complete id.
 */

const pad = (n: number, width: number) => String(Math.max(0, Math.floor(n))).padStart(width, '0')

/** Width of a time in keys: 16 digits hold every Unix ms a `Date` can hold (up to 8.64e15, year 275760). */
const TIME_WIDTH = 16

/** Fixed width so times sort as strings. */
export const timeKey = (ms: number) => pad(ms, TIME_WIDTH)

/** The largest time a key can hold (the largest `Date`). */
export const MAX_TIME = 8.64e15

/** Newest-first order for the run indexes: a time subtracted from the largest one. */
const newestFirst = (ms: number) => timeKey(MAX_TIME - ms)

export const keys = {
  run: (runId: string) => `run/${runId}`,
  runPrefix: 'run/',
  /** Journal of one incarnation of a run: the nonce keeps a reused id from seeing old entries. */
  journalPrefix: (runId: string, nonce: string) => `jrn/${runId}!${nonce}/`,
  journal: (runId: string, nonce: string, seq: number) => `jrn/${runId}!${nonce}/${pad(seq, 8)}`,
  /** Buffered signals of one incarnation of a run, in the order they were sent. */
  signalPrefix: (runId: string, nonce: string) => `sig/${runId}!${nonce}/`,
  signal: (runId: string, nonce: string, sentAt: number, seq: number, origin: string) =>
    `sig/${runId}!${nonce}/${timeKey(sentAt)}-${pad(seq, 9)}-${origin}`,
  /**
   * A run's inbox marker: written (blindly, so its version grows) with every signal. Its presence
   * says "this run has signals nobody has looked at"; its version lets the run's owner fence its
   * suspension against a signal that arrives meanwhile.
   */
  inbox: (runId: string) => `inbox/${runId}`,
  inboxPrefix: 'inbox/',
  duePrefix: 'due/',
  due: (at: number, runId: string) => `due/${timeKey(at)}/${runId}`,
  /** Upper bound (exclusive) of due entries at or before `at`. */
  dueBefore: (at: number) => `due/${timeKey(at + 1)}`,
  /** A schedule record (`schedules.ts`): its spec, next tick, last run. */
  schedule: (scheduleId: string) => `sch/${scheduleId}`,
  schedulePrefix: 'sch/',
  /** A schedule's one tick entry, time-ordered like the due index (which holds runs only). */
  tickPrefix: 'tick/',
  tick: (at: number, scheduleId: string) => `tick/${timeKey(at)}/${scheduleId}`,
  /** Upper bound (exclusive) of tick entries at or before `at`. */
  tickBefore: (at: number) => `tick/${timeKey(at + 1)}`,
  /**
   * Concurrency slot `i` of a workflow's key (`flow-control.ts`); its value is the run holding it.
   * `key` is already encoded by {@link flowKey}.
   */
  slotPrefix: (workflowId: string, key: string) => `slot/${workflowId}/${key}/`,
  slot: (workflowId: string, key: string, i: number) => `slot/${workflowId}/${key}/${pad(i, 5)}`,
  /** A flow-control record of a workflow's key: `rate`, `throttle` (start-time logs), `debounce`, `singleton` (the run they point at). */
  flow: (kind: 'rate' | 'throttle' | 'debounce' | 'singleton', workflowId: string, key: string) => `flow/${kind}/${workflowId}/${key}`,
  kvPrefix: 'kv/',
  kv: (key: string) => `kv/${key}`,
  /**
   * The run index, newest first (see `transitions.ts` for when it moves): one entry per run, by
   * workflow and status, `ix/ws/{workflow}/{status}/{newest-first time}/{runId}`. "All workflows"
   * is the merge of the workflows found in it (`queries.ts`).
   */
  index: {
    /** Every index entry (one per run). */
    all: 'ix/ws/',
    /** Every index entry of one workflow (one per run). */
    workflowAll: (workflowId: string) => `ix/ws/${indexSegment(workflowId)}/`,
    workflowStatus: (workflowId: string, status: string) => `ix/ws/${indexSegment(workflowId)}/${status}/`,
    byWorkflowStatus: (workflowId: string, status: string, createdAt: number, runId: string) =>
      `ix/ws/${indexSegment(workflowId)}/${status}/${newestFirst(createdAt)}/${runId}`,
    /** Bound of an index prefix for runs created at `ms`: newer runs sort before it. */
    timeBound: (prefix: string, ms: number) => `${prefix}${newestFirst(ms)}`,
  },
} as const

/**
 * A user's flow-control key (`concurrency.key(input)`…) as it goes into a store key: percent-encoded
 * (so a `/` in it is no separator), and hashed when long (keys stay far below the 1024-unit limit).
 */
export const flowKey = (key: string): string => {
  const encoded = encodeURIComponent(key)
  return encoded.length <= 200 ? encoded : `~${createHash('sha256').update(key).digest('hex')}`
}

const DUE_TIME_START = 'due/'.length
const TICK_TIME_START = 'tick/'.length

/** The schedule id inside a tick key. */
export const scheduleIdOfTickKey = (key: string) => key.slice(TICK_TIME_START + TIME_WIDTH + 1)

/** The time inside a tick key. */
export const timeOfTickKey = (key: string) => Number(key.slice(TICK_TIME_START, TICK_TIME_START + TIME_WIDTH))

/** The run id inside a due key. */
export const runIdOfDueKey = (key: string) => key.slice(DUE_TIME_START + TIME_WIDTH + 1)

/** The time inside a due key. */
export const timeOfDueKey = (key: string) => Number(key.slice(DUE_TIME_START, DUE_TIME_START + TIME_WIDTH))

/**
 * A workflow id as one segment of an index key: a `/` (allowed in ids) becomes `|` (never in one),
 * so the segment ends at the next `/` and no workflow's prefix holds another's entries.
 */
const indexSegment = (workflowId: string) => workflowId.replaceAll('/', '|')

/** The workflow id of an index key (any key under `ix/ws/`). */
export const workflowOfIndexKey = (key: string): string => {
  const from = keys.index.all.length
  return key.slice(from, key.indexOf('/', from)).replaceAll('|', '/')
}

/** The run id at the end of an index key. */
export const runIdOfIndexKey = (key: string, prefix: string) => key.slice(prefix.length + TIME_WIDTH + 1)
