import type { BatchResult, WriteOp } from '@do-sdk/core'
import { planCall, type Rows, resultOf } from './batch-plan.js'

/** Options of {@link groupCommit}. */
export interface GroupCommitOptions {
  /** Runs the batch function once (one statement, one transaction); resolves to the live version per row. */
  send(rows: Rows): Promise<number[]>
  /** Calls in flight at most (the pool's size): batches arriving meanwhile wait and join the next call. */
  maxInFlight: number
  /** Rows (distinct keys of batches) per call at most; a larger queue is sent as several calls. */
  maxRows: number
}

interface Pending {
  ops: WriteOp[]
  resolve: (result: BatchResult) => void
  reject: (error: unknown) => void
}

/** SQLSTATE classes of errors caused by the data of one batch: 22 data exception, 23 integrity, 54 program limit (an index row too large). */
const isDataError = (error: unknown) => /^(22|23|54)/.test(String((error as { code?: unknown })?.code ?? ''))
/** Serialization failure and deadlock: the transaction rolled back and may simply be run again. */
const isTransient = (error: unknown) => /^40(001|P01)$/.test(String((error as { code?: unknown })?.code ?? ''))

/**
 * Group commit: the batches that arrive in one event-loop turn share one call of the batch function,
 * that is one statement, one transaction and one round trip, and none resolves before it commits.
 * Each batch stays all-or-nothing on its own: the function checks each batch's conditions and writes
 * only the batches whose conditions hold (SQLite's store needs savepoints for that; here the checks
 * come before the writes, in SQL, so a failed condition never has anything to undo).
 *
 * Batches touching a key that an earlier batch of the group touched start a new segment, applied
 * after the earlier one, so they see its writes. An SQL error rolls the whole call back; when it
 * comes from the data of one batch (e.g. a key too long for the index), the batches are sent again
 * one call each, so the failing batch fails alone.
 */
export const groupCommit = (options: GroupCommitOptions) => {
  let queue: Pending[] = []
  let scheduled = false
  let inFlight = 0
  const idle = new Set<() => void>()

  const commit = async (items: Pending[], attempt = 0): Promise<void> => {
    const { rows, placed } = planCall(
      items.map((item) => item.ops),
      (i, error) => items[i]?.reject(error),
    )
    if (rows.key.length === 0) return
    let found: number[]
    try {
      found = await options.send(rows)
    } catch (error) {
      const live = items.filter((_, i) => placed[i] !== undefined)
      if (isTransient(error) && attempt < 3) return commit(live, attempt + 1)
      if (isDataError(error) && live.length > 1) {
        for (const item of live) await commit([item])
        return
      }
      for (const item of live) item.reject(error)
      return
    }
    for (const [i, item] of items.entries()) {
      const p = placed[i]
      if (p) item.resolve(resultOf(p, found))
    }
  }

  const flush = () => {
    scheduled = false
    while (queue.length > 0 && inFlight < options.maxInFlight) {
      // Take batches up to maxRows keys (at least one batch).
      let rows = 0
      let take = 0
      while (take < queue.length && (take === 0 || rows + (queue[take] as Pending).ops.length <= options.maxRows)) {
        rows += (queue[take] as Pending).ops.length
        take++
      }
      const items = queue.slice(0, take)
      queue = queue.slice(take)
      inFlight++
      commit(items)
        .catch((error) => {
          for (const item of items) item.reject(error)
        })
        .finally(() => {
          inFlight--
          if (queue.length > 0) schedule()
          else if (inFlight === 0) for (const done of idle) done()
        })
    }
  }
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  return {
    /** Queues a batch (at least one op) for the next call. */
    batch: (ops: WriteOp[]) =>
      new Promise<BatchResult>((resolve, reject) => {
        queue.push({ ops, resolve, reject })
        schedule()
      }),
    /** Resolves once nothing is queued or in flight. */
    drained: () =>
      queue.length === 0 && inFlight === 0 && !scheduled
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => {
              idle.delete(done)
              resolve()
            }
            idle.add(done)
          }),
  }
}
