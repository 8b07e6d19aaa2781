import { prefixEnd } from '../datastore/kit.js'
import type { ListedEntry } from '../datastore/types.js'
import { CancelledError, EngineStateError, InvalidArgumentError, RunFailedError } from '../errors.js'
import { assertId } from '../ids.js'
import type { Workflow } from '../workflow.js'
import type { BufferedSignal, CountRunsOptions, ListRunsOptions } from './engine-types.js'
import { keys, MAX_TIME, runIdOfIndexKey, timeKey, workflowOfIndexKey } from './keys.js'
import { fromStoredError, type JournalEntry, type RunRecord, type RunStatus, type SignalRecord, TERMINAL } from './records.js'
import { type RunInfo, toRunInfo } from './run-info.js'
import type { Runs } from './runs.js'
import type { EngineStore } from './store.js'

const STATUSES: readonly RunStatus[] = ['pending', 'running', 'sleeping', 'waiting', 'completed', 'failed', 'cancelled']

const statusesOf = (status: RunStatus | RunStatus[] | undefined): RunStatus[] | undefined => {
  if (status === undefined) return undefined
  const list = Array.isArray(status) ? status : [status]
  for (const s of list)
    if (!STATUSES.includes(s)) throw new InvalidArgumentError(`Unknown run status ${JSON.stringify(s)} (one of ${STATUSES.join(', ')})`)
  return [...new Set(list)]
}

/**
 * Every workflow with an entry in the run index, found by skipping from one workflow's entries to
 * the next (one `list` call of one entry per workflow): the index holds no other catalog to write.
 */
const indexedWorkflows = async (store: EngineStore): Promise<string[]> => {
  const found: string[] = []
  for (let after: string | undefined; ; ) {
    const [first] = await store.list(keys.index.all, { after, limit: 1 })
    if (first === undefined) return found
    const workflowId = workflowOfIndexKey(first.key)
    found.push(workflowId)
    after = prefixEnd(keys.index.workflowAll(workflowId)) // past every entry of this workflow
  }
}

/** The index prefixes that answer a filter: one per workflow (the given one, else every one) and status asked for (every status when none is). */
export const prefixesFor = async (
  store: EngineStore,
  workflowId: string | undefined,
  statuses: RunStatus[] | undefined,
): Promise<{ prefix: string; status: RunStatus }[]> => {
  const workflows = workflowId === undefined ? await indexedWorkflows(store) : [workflowId]
  return workflows.flatMap((w) => (statuses ?? STATUSES).map((status) => ({ prefix: keys.index.workflowStatus(w, status), status })))
}

const toMsOf = (t: number | Date | undefined, what: string) => {
  if (t === undefined) return undefined
  const ms = t instanceof Date ? t.getTime() : t
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw new InvalidArgumentError(`listRuns: "${what}" must be a Date or Unix ms, got ${String(t)}`)
  return ms
}

// A run id never holds "~", and it sorts after every character an id may hold.
const AFTER_TIME = '~'

/**
 * Runs newest first, from the run indexes the transitions keep (never by reading every record):
 * the index answering the filter is paged, each page's records are read in one call, and a record
 * that no longer matches (a run that changed since, an index entry a store without atomic batches
 * left behind) is skipped.
 */
export const listRuns = async (store: EngineStore, options: ListRunsOptions): Promise<{ runs: RunInfo[]; nextCursor?: string }> => {
  const limit = options.limit ?? 50
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000)
    throw new InvalidArgumentError(`listRuns: "limit" must be an integer from 1 to 1000, got ${limit}`)
  const statuses = statusesOf(options.status)
  const from = toMsOf(options.from, 'from')
  const to = toMsOf(options.to, 'to')
  const prefixes = await prefixesFor(store, options.workflowId, statuses)
  // Positions are index-key suffixes (`{newest-first time}/{runId}`), the same in every index.
  // Twice the page between the ranges to merge (one range: 2 × limit), doubled for a range each
  // time it runs dry: few reads when the runs are spread, few round trips when one range has them all.
  const firstPage = Math.min(500, Math.max(10, Math.ceil((limit * 2) / prefixes.length)))
  const cursors = prefixes.map(({ prefix: p, status }) => {
    const bounds: { after?: string; before?: string } = {}
    if (to !== undefined) bounds.after = `${p}${timeKey(MAX_TIME - to)}${AFTER_TIME}`
    if (options.cursor !== undefined && (bounds.after === undefined || `${p}${options.cursor}` > bounds.after))
      bounds.after = `${p}${options.cursor}`
    if (from !== undefined) bounds.before = `${p}${timeKey(MAX_TIME - from)}${AFTER_TIME}`
    return { prefix: p, status, ...bounds, buffer: [] as string[], done: false, page: firstPage }
  })
  const runs: RunInfo[] = []
  let last: string | undefined
  while (runs.length < limit) {
    // The ranges that ran dry are read again together (one round trip's wait for all of them).
    const refill = cursors.filter((c) => !c.buffer.length && !c.done)
    const pages = await Promise.all(refill.map((c) => store.list(c.prefix, { after: c.after, before: c.before, limit: c.page })))
    for (const [i, c] of refill.entries()) {
      const page = pages[i] as ListedEntry[]
      if (page.length < c.page) c.done = true
      if (page.length > 0) c.after = page[page.length - 1]?.key
      c.buffer = page.map((e) => e.key.slice(c.prefix.length))
      c.page = Math.min(500, c.page * 2)
    }
    // Merge the heads: the smallest suffix is the newest run.
    const heads = cursors.filter((c) => c.buffer.length)
    if (heads.length === 0) break
    const batch: { suffix: string; status: RunStatus }[] = []
    while (batch.length < limit - runs.length) {
      let best: (typeof cursors)[number] | undefined
      for (const c of heads) if (c.buffer.length && (!best || (c.buffer[0] as string) < (best.buffer[0] as string))) best = c
      if (!best) break
      batch.push({ suffix: best.buffer.shift() as string, status: best.status })
      if (!best.buffer.length && !best.done) break
    }
    const ids = batch.map((b) => runIdOfIndexKey(b.suffix, ''))
    const records = await store.getMany(ids.map((id) => keys.run(id)))
    for (let i = 0; i < batch.length; i++) {
      last = batch[i]?.suffix
      const got = records[i]
      if (!got) continue
      const record = store.decode<RunRecord>(got, keys.run(ids[i] as string))
      if (options.workflowId !== undefined && record.workflowId !== options.workflowId) continue
      // Only the entry of the record's own status counts: a run that changed status while this
      // listing ran is listed once (or, moving between two pages, not at all), never twice.
      if (record.status !== batch[i]?.status) continue
      if (options.idPrefix !== undefined && !record.id.startsWith(options.idPrefix)) continue
      runs.push(toRunInfo(record, []))
      if (runs.length === limit) break
    }
  }
  // A full page may have taken the very last run: peek one entry past it before promising more.
  let more = runs.length === limit && cursors.some((c) => c.buffer.length > 0)
  for (const c of cursors) {
    if (more || runs.length < limit || c.done) continue
    more = (await store.list(c.prefix, { after: `${c.prefix}${last}`, before: c.before, limit: 1 })).length > 0
  }
  return more && last !== undefined ? { runs, nextCursor: last } : { runs }
}

/**
 * How many runs match, counted on the run index. Without a status filter one count of the parent
 * prefix covers every status (and, without a workflow, every workflow) at once: a run changing
 * status meanwhile is counted once.
 */
export const countRuns = async (store: EngineStore, options: CountRunsOptions): Promise<number> => {
  const statuses = statusesOf(options.status)
  if (statuses === undefined)
    return store.count(options.workflowId === undefined ? keys.index.all : keys.index.workflowAll(options.workflowId))
  let n = 0
  for (const { prefix } of await prefixesFor(store, options.workflowId, statuses)) n += await store.count(prefix)
  return n
}

/** The output of a finished run, or its failure as RunFailedError / CancelledError. */
export const settledOutcome = <T>(info: Pick<RunInfo, 'id' | 'status' | 'output' | 'error'>): T => {
  if (info.status === 'completed') return info.output as T
  if (info.status === 'cancelled') throw new CancelledError(`Run "${info.id}" was cancelled: ${info.error?.message ?? ''}`)
  const cause = info.error ? fromStoredError(info.error) : undefined
  throw new RunFailedError(`Run "${info.id}" failed: ${info.error?.message ?? 'unknown error'}`, info.id, { cause })
}

/**
 * `run.result()`: the run's output once it ends. Ends seen in this process hand over the final
 * record at once; ends elsewhere are seen by reading the record every `everyMs`.
 */
export const awaitResult = async <T>(
  runs: Runs,
  waiters: Map<string, Set<(record?: RunRecord) => void>>,
  runId: string,
  everyMs: number,
  executesHere: (runId: string) => boolean,
): Promise<T> => {
  assertId(runId, 'run id')
  for (;;) {
    // A run executing here has not ended (its execution leaves the engine as it ends): no read needed.
    let record = executesHere(runId) ? await waitForChange(waiters, runId, everyMs) : undefined
    if (record === undefined) {
      const { record: read } = await runs.mustRead(runId)
      record = read
      if (!TERMINAL.has(record.status)) record = (await waitForChange(waiters, runId, everyMs)) ?? record
    }
    if (TERMINAL.has(record.status)) return settledOutcome<T>(record)
  }
}

/** `run.result()` on a single-process engine that is not started: settled now, or a clear error (nothing would ever run it). */
export const resultWithoutEngine = async <T>(runs: Runs, runId: string, state: string): Promise<T> => {
  const { record } = await runs.mustRead(assertId(runId, 'run id'))
  if (TERMINAL.has(record.status)) return settledOutcome<T>(record)
  throw new EngineStateError(
    `run.result() of run "${runId}" while the engine is ${state}: nothing runs it on this single-process store, so it would never settle. Call engine.start() first.`,
  )
}

/** Waits until this process sees the run end, or `pollMs` passes (it may end in another process). */
export const waitForChange = (waiters: Map<string, Set<(record?: RunRecord) => void>>, runId: string, pollMs: number) =>
  new Promise<RunRecord | undefined>((resolve) => {
    const set = waiters.get(runId) ?? new Set()
    // Not unref'd: a script awaiting run.result() stays alive until the run ends.
    const timer = setTimeout(() => done(), pollMs)
    const done = (record?: RunRecord) => {
      clearTimeout(timer)
      set.delete(done)
      if (set.size === 0) waiters.delete(runId)
      resolve(record)
    }
    set.add(done)
    waiters.set(runId, set)
  })

/** `engine.getRun`: a run's record and journal, as {@link RunInfo}. */
export const readRun = async (store: EngineStore, runs: Runs, runId: string, workflow?: Workflow): Promise<RunInfo<any, any, any>> => {
  const { record } = await runs.mustRead(assertId(runId, 'run id'))
  if (workflow !== undefined && record.workflowId !== workflow?.id)
    throw new InvalidArgumentError(`Run "${runId}" is a run of workflow "${record.workflowId}", not of "${workflow?.id}"`)
  const items = await store.list(keys.journalPrefix(runId, record.nonce))
  return toRunInfo(
    record,
    items.map((i) => store.decode<JournalEntry>(i, i.key)),
  )
}

/** `engine.listSignals`: the signals stored for a run that no wait has taken yet, oldest first. */
export const bufferedSignals = async (store: EngineStore, runs: Runs, runId: string): Promise<BufferedSignal[]> => {
  const { record } = await runs.mustRead(assertId(runId, 'run id'))
  return (await store.listAll(keys.signalPrefix(runId, record.nonce))).map((e) => {
    const sig = store.decode<SignalRecord>(e, e.key)
    return { name: sig.name, payload: sig.payload, sentAt: sig.sentAt }
  })
}
