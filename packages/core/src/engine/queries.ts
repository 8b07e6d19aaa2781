import { CancelledError, RunFailedError } from '../errors.js'
import type { ListRunsOptions } from './engine.js'
import { keys } from './keys.js'
import type { RunRecord } from './records.js'
import { fromStoredError } from './records.js'
import { type RunInfo, toRunInfo } from './run-info.js'
import type { EngineStore } from './store.js'

/** Scans run records in key order, filtering by workflow and status, until a page is full. */
export const listRuns = async (store: EngineStore, options: ListRunsOptions): Promise<{ runs: RunInfo[]; nextCursor?: string }> => {
  const limit = options.limit ?? 50
  const statuses = options.status === undefined ? undefined : new Set(Array.isArray(options.status) ? options.status : [options.status])
  const runs: RunInfo[] = []
  let after = options.cursor === undefined ? undefined : keys.run(options.cursor)
  for (;;) {
    const page = await store.list(keys.runPrefix, { after, limit: 500 })
    for (const item of page) {
      after = item.key
      const record = store.decode<RunRecord>(item, item.key)
      if (options.workflowId !== undefined && record.workflowId !== options.workflowId) continue
      if (statuses && !statuses.has(record.status)) continue
      runs.push(toRunInfo(record, []))
      if (runs.length === limit) return { runs, nextCursor: record.id }
    }
    if (page.length < 500) return { runs }
  }
}

/** The output of a finished run, or its failure as RunFailedError / CancelledError. */
export const settledOutcome = <T>(info: Pick<RunInfo, 'id' | 'status' | 'output' | 'error'>): T => {
  if (info.status === 'completed') return info.output as T
  if (info.status === 'cancelled') throw new CancelledError(`Run "${info.id}" was cancelled: ${info.error?.message ?? ''}`)
  const cause = info.error ? fromStoredError(info.error) : undefined
  throw new RunFailedError(`Run "${info.id}" failed: ${info.error?.message ?? 'unknown error'}`, info.id, { cause })
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
