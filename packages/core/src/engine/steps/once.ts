import type { WriteOp } from '../../datastore/types.js'
import { DoSdkError, toError } from '../../errors.js'
import type { RunRecord, StepKind } from '../records.js'
import { fromStoredError, toStoredError } from '../records.js'
import { deferred } from '../step-promise.js'
import { SimulatedCrash } from '../store.js'
import { stepEvent } from './attempts.js'
import type { StepCall, StepHost } from './types.js'

/** What a once-step computes: its value, and the writes and record fields that commit with it. */
export interface Computed<T> {
  value: T
  put?: WriteOp[]
  patch?: Partial<RunRecord>
}

export interface OnceOptions<T> {
  hash?: string
  /** Runs as the value reaches the code, on the first run (`replayed: false`) and on replay. */
  onValue?: (value: T, replayed: boolean, stepId: string) => void
}

/** Computes, trying again (with backoff, while the execution is live) when the store fails for a while: a read that failed is no result. */
const computeWithRetries = async <T>(host: StepHost, compute: () => Promise<Computed<T>> | Computed<T>): Promise<Computed<T>> => {
  for (let failures = 0; ; failures++) {
    try {
      return await compute()
    } catch (error) {
      if (!DoSdkError.hasCode(error, 'ERR_STORE') || !host.live) throw error
      await host.sleep(Math.min(5_000, 25 * 2 ** Math.min(failures, 8)))
    }
  }
}

/**
 * A step that computes one value once (now, uuid, setState, step.store): computed after every
 * earlier commit is durable, journaled with its writes, and replayed from the journal. A failure
 * to compute it (a state the schema refuses, a value that cannot be stored) is journaled too, so
 * a replay sees the same failure at the same point.
 */
export const onceStep = <T>(
  host: StepHost,
  base: string,
  kind: StepKind,
  compute: () => Promise<Computed<T>> | Computed<T>,
  options: OnceOptions<T> = {},
): Promise<T> => {
  const id = host.nextStepId(base)
  const d = deferred<T>()
  const { hooks } = host.deps
  const work = async () => {
    host.enter()
    try {
      const ready = host.beforeWork()
      if (ready) await ready
      if (!host.live) return
      const started = host.now
      let out: Computed<T>
      let settled: { value: unknown; encoded: string }
      try {
        out = await computeWithRetries(host, compute)
        settled = host.storable(id, out.value)
      } catch (error) {
        if (!host.live) return
        const err = toError(error)
        const stored = toStoredError(err, false)
        host.deliver({
          call,
          entry: { id, kind, status: 'failed', error: stored, h: options.hash },
          error: fromStoredError(stored),
          durable: hooks.has('step:fail')
            ? () => hooks.emit('step:fail', { ...stepEvent(host, id, kind, false), error: err, durationMs: host.now - started })
            : undefined,
        })
        return
      }
      const value = settled.value as T
      host.deps.beforeCommit?.({ runId: host.runId, stepId: id, kind })
      const ms = host.now - started
      host.deliver({
        call,
        entry: { id, kind, status: 'done', value, ms, h: options.hash },
        encoded: settled.encoded,
        put: out.put,
        patch: out.patch,
        apply: options.onValue ? () => options.onValue?.(value, false, id) : undefined,
        durable: hooks.has('step:complete')
          ? () => hooks.emit('step:complete', { ...stepEvent(host, id, kind, false), output: value, durationMs: ms })
          : undefined,
      })
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error
    } finally {
      host.leave()
    }
  }
  const call: StepCall = {
    id,
    kind,
    hash: options.hash,
    d: d as never,
    start: () => void work(),
    // A refused value (a failed entry) never reached the code's state on the first run either.
    replayed: options.onValue ? (entry) => entry.status === 'done' && options.onValue?.(entry.value as T, true, id) : undefined,
  }
  host.request(call)
  return d.promise
}
