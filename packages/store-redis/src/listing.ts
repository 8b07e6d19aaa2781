// Reads of the Redis store that go through the key index: `list` (paged), `count`, and the sweep of
// index members whose entries Redis has expired. Each is a loop of bounded script calls.
import type { ListedEntry, ListOptions, StoredEntry } from '@do-sdk/core'
import { compareCodePoints, prefixEnd } from '@do-sdk/core'
import { SCRIPTS, type Script } from './scripts.js'

/** Sends one command (a whole `EVALSHA` when `script` is given); a failure is thrown as a StoreError naming `what()`. */
export type Exec = (what: () => string, command: string[], script?: Script) => Promise<unknown>

/** The Redis keys of one namespace. */
export interface NamespaceKeys {
  /** Sorted set of every key, scored 0. */
  index: string
  /** Sorted set of the keys written with an expiry, scored by it. */
  expiry: string
  /** Prefix of the entry hashes: `<entry>` + key. */
  entry: string
}

/**
 * Entries per script call of `list`, and index members read per call: a call reads at most this
 * many hashes, so no single script holds Redis for long whatever the size of the prefix (a whole
 * 100,000-entry journal in one script blocked every other client for 400 ms).
 */
export const LIST_PAGE = 500
/** Due members of the expiry set handled per call of `count` or of the sweeper. */
export const SWEEP_PAGE = 500

export const toEntry = (value: unknown, version: unknown, expiresAt: unknown): StoredEntry =>
  expiresAt === '' || expiresAt === null || expiresAt === undefined
    ? { value: String(value), version: Number(version) }
    : { value: String(value), version: Number(version), expiresAt: Number(expiresAt) }

/** `ZRANGEBYLEX` bounds of a `list` or `count` call (Redis compares members as bytes: code point order). */
export const lexRange = (prefix: string, o: Pick<ListOptions, 'after' | 'before'>): [min: string, max: string] => {
  let min = prefix === '' ? '-' : `[${prefix}`
  if (o.after !== undefined && compareCodePoints(o.after, prefix) >= 0) min = `(${o.after}`
  const end = prefixEnd(prefix)
  let max = end === undefined ? '+' : `(${end}`
  if (o.before !== undefined && (end === undefined || compareCodePoints(o.before, end) < 0)) max = `(${o.before}`
  return [min, max]
}

/**
 * `list`: a loop of LIST script calls, each of which reads the entries of the members the previous
 * call returned and the members of the next page, so a listing of n pages takes n + 1 round trips
 * and no call reads more than {@link LIST_PAGE} hashes. Members are read just enough to meet
 * `limit` (more only when some of them turn out deleted or expired). Like any paged read, it is not
 * a snapshot: an entry written behind the cursor meanwhile is not listed; one deleted or expired
 * between the two calls is left out.
 */
export const listEntries = async (
  exec: Exec,
  keys: NamespaceKeys,
  page: number,
  prefix: string,
  opts: ListOptions,
): Promise<ListedEntry[]> => {
  const limit = opts.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(opts.limit))
  const out: ListedEntry[] = []
  if (limit === 0) return out
  let [min, max] = lexRange(prefix, opts)
  const reverse = opts.reverse === true
  const prefixLength = String(keys.entry.length) // ASCII: bytes = UTF-16 units
  let pending: string[] = [] // members read from the index, entries not read yet
  let more = true // the index may hold members past the cursor
  const what = () => `list of ${JSON.stringify(prefix)}`
  while (pending.length > 0 || (more && out.length < limit)) {
    const wanted = more ? Math.max(0, Math.min(page, limit - out.length - pending.length)) : 0
    const command = ['EVALSHA', SCRIPTS.list.sha, String(1 + pending.length), keys.index]
    for (const member of pending) command.push(keys.entry + member)
    command.push(prefixLength, min, max, String(wanted), reverse ? '1' : '0')
    const [flat, members] = (await exec(what, command, SCRIPTS.list)) as [unknown[], string[]]
    for (let i = 0; i < flat.length; i += 4) {
      out.push({ key: pending[Number(flat[i]) - 1] as string, ...toEntry(flat[i + 1], flat[i + 2], flat[i + 3]) })
    }
    if (wanted > 0) {
      if (members.length < wanted) more = false
      const last = members[members.length - 1]
      if (last !== undefined) {
        if (reverse) max = `(${last}`
        else min = `(${last}`
      }
    }
    pending = members
  }
  return out
}

/**
 * Removes the index members of entries Redis has expired, as the expiry set lists them, from the
 * range [min, max] of the index (given only to count it), and returns the count of that range
 * once no due member is left. Each round is a COUNT call, then, when members are due, a SWEEP call
 * with their entry keys declared. Stops early when a round changes nothing (entries whose expiry
 * is this very millisecond: Redis still holds them, so they are live and counted).
 */
const settle = async (exec: Exec, keys: NamespaceKeys, min: string, max: string, what: () => string) => {
  let removed = 0
  for (;;) {
    const countCommand = ['EVALSHA', SCRIPTS.count.sha, '2', keys.index, keys.expiry, min, max, String(SWEEP_PAGE)]
    const [count, due] = (await exec(what, countCommand, SCRIPTS.count)) as [number, string[]]
    if (due.length === 0) return { count: Number(count), removed }
    const sweepCommand = ['EVALSHA', SCRIPTS.sweep.sha, String(2 + due.length), keys.index, keys.expiry]
    for (const member of due) sweepCommand.push(keys.entry + member)
    sweepCommand.push(String(keys.entry.length))
    const [gone, changed] = (await exec(what, sweepCommand, SCRIPTS.sweep)) as [number, number]
    removed += Number(gone)
    if (Number(changed) === 0) return { count: Number(count), removed }
  }
}

/**
 * `count`: `ZLEXCOUNT` over the index range, after the index members of expired entries were
 * removed (see {@link settle}), so it agrees with what `list` returns.
 */
export const countEntries = async (exec: Exec, keys: NamespaceKeys, prefix: string, opts: Pick<ListOptions, 'after' | 'before'>) => {
  const [min, max] = lexRange(prefix, opts)
  return (await settle(exec, keys, min, max, () => `count of ${JSON.stringify(prefix)}`)).count
}

/** The sweep: removes the index members of every expired entry; returns how many. */
export const sweepIndex = async (exec: Exec, keys: NamespaceKeys) =>
  (await settle(exec, keys, '-', '-', () => 'removing expired entries from the index')).removed
