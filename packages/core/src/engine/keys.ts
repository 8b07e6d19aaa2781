/**
 * The engine's key space inside a Datastore. Every key is ASCII-prefixed so listing order is the
 * same on every adapter; ids are validated (`ids.ts`) so a `/` inside an id cannot be confused with
 * a separator: every prefix below ends with the separator that follows a complete id.
 */

const pad = (n: number, width: number) => String(Math.max(0, Math.floor(n))).padStart(width, '0')

/** Fixed width so due times sort as strings (Unix ms up to year 2286). */
export const timeKey = (ms: number) => pad(ms, 13)

export const keys = {
  run: (runId: string) => `run/${runId}`,
  runPrefix: 'run/',
  /** Journal of one incarnation of a run: the nonce keeps a reused id from seeing old entries. */
  journalPrefix: (runId: string, nonce: string) => `jrn/${runId}!${nonce}/`,
  journal: (runId: string, nonce: string, seq: number) => `jrn/${runId}!${nonce}/${pad(seq, 8)}`,
  journalAllPrefix: (runId: string) => `jrn/${runId}!`,
  signalPrefix: (runId: string) => `sig/${runId}!`,
  signalsPrefix: 'sig/',
  signal: (runId: string, sentAt: number, seq: number, origin: string) => `sig/${runId}!${timeKey(sentAt)}-${pad(seq, 9)}-${origin}`,
  duePrefix: 'due/',
  due: (at: number, runId: string) => `due/${timeKey(at)}/${runId}`,
  /** Upper bound (exclusive) of due entries at or before `at`. */
  dueBefore: (at: number) => `due/${timeKey(at + 1)}`,
  kvPrefix: 'kv/',
  kv: (key: string) => `kv/${key}`,
} as const

/** The run id inside a due key. */
export const runIdOfDueKey = (key: string) => key.slice('due/'.length + 14)
