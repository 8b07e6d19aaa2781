import { InvalidArgumentError } from '../errors.js'
import type { FlowKey, Workflow } from '../workflow.js'
import { flowKey, keys } from './keys.js'
import type { PendingReason, RunRecord } from './records.js'
import type { EngineStore } from './store.js'
import type { SlotClaim } from './transitions.js'

/**
 * Flow control enforced through the Datastore, never through one process's memory:
 *
 * - **concurrency**: slot keys `slot/{workflowId}/{key}/{i}` (i < limit) whose value is the run
 *   holding them. A run takes its slots in its claim batch (compare-and-set on each slot: absent,
 *   its own, or left by a run that no longer holds it) and lets them go in the batch that suspends
 *   or ends it (`transitions.ts`). A process killed with its runs keeps their slots until their
 *   lease runs out and another engine claims them, rewriting the same slots.
 * - **rateLimit / throttle**: one record per key holding the start times of the last `limit` runs
 *   (`flow/{rate|throttle}/…`), updated by compare-and-set in the batch that creates the run: an
 *   exact sliding window (see {@link reserveStart}).
 * - **debounce / singleton**: one record per key pointing at the run they hold (`admission.ts`).
 */

/** The key of a run under one flow-control option (`''` when the option has no key). */
export const keyOf = (wf: Workflow, what: string, key: FlowKey<any> | undefined, input: unknown): string => {
  if (key === undefined) return ''
  const k = key(input)
  if (typeof k !== 'string' || k.length > 10_000)
    throw new InvalidArgumentError(`Workflow "${wf.id}": ${what}.key(input) must return a string (got ${typeof k})`)
  return k
}

/** The concurrency keys and limits of a run, one per `concurrency` option. */
export const concurrencyOf = (wf: Workflow, input: unknown): { key: string; limit: number }[] =>
  (wf.flow?.concurrency ?? []).map((c) => ({ key: keyOf(wf, 'concurrency', c.key, input), limit: c.limit }))

/** Slots of option `i` of a workflow: the option's position keeps two options with equal keys (a global limit and another) apart. */
const slotKeyPart = (i: number, key: string) => `${i}.${flowKey(key)}`

/** A run of this workflow is always created `pending` and claimed, never run at once by its trigger (it needs slots, a turn, or a wait). */
export const startsPending = (wf: Workflow): boolean => {
  const f = wf.flow
  return f !== undefined && (f.concurrency.length > 0 || f.throttle !== undefined || f.debounce !== undefined)
}

/** Priority of a run: a finite number, 0 by default. */
export const priorityOf = (wf: Workflow, input: unknown): number | undefined => {
  const p = wf.flow?.priority?.(input)
  if (p === undefined) return undefined
  if (typeof p !== 'number' || !Number.isFinite(p))
    throw new InvalidArgumentError(`Workflow "${wf.id}": priority(input) must return a finite number, got ${String(p)}`)
  return p
}

/**
 * The start time a new run of a key gets, given the start times of the key's latest runs (sorted,
 * some maybe in the future: throttled runs waiting for their turn). Every window of `periodMs`
 * holds at most `limit` start times, and runs keep their order: the new one starts now if fewer
 * than `limit` runs started within the last period, else when the `limit`-th latest leaves the
 * window. Returns the time and the log to store (the last `limit` entries still inside a window).
 */
export const reserveStart = (log: readonly number[], now: number, limit: number, periodMs: number): { at: number; log: number[] } => {
  const recent = log.filter((t) => t > now - periodMs)
  let at = now
  if (recent.length >= limit) {
    at = Math.max(now, recent[recent.length - 1] as number, (recent[recent.length - limit] as number) + periodMs)
  }
  const next = [...recent, at].slice(-limit)
  return { at, log: next }
}

/** The encoded key of a flow-control record, and the key as the user sees it. */
export const flowRecordKey = (kind: 'rate' | 'throttle' | 'debounce' | 'singleton', wf: Workflow, key: string) =>
  keys.flow(kind, wf.id, flowKey(key))

/**
 * Finds one slot per concurrency key for a run about to be claimed: the slot it holds already (a
 * run taken over after its process died), else a free one, else one whose holder no longer holds
 * it (its record gone, not running, or not listing the slot: left by a store without atomic
 * batches). Resolves the slots to take, or why the run must wait.
 */
export const findSlots = async (
  store: EngineStore,
  record: RunRecord,
  wanted: { key: string; limit: number }[],
  retryAt: number,
): Promise<{ slots: SlotClaim[] } | { reason: PendingReason }> => {
  const slots: SlotClaim[] = []
  for (const [index, { key, limit }] of wanted.entries()) {
    const encoded = slotKeyPart(index, key)
    const prefix = keys.slotPrefix(record.workflowId, encoded)
    const taken = await store.list(prefix, { before: keys.slot(record.workflowId, encoded, limit), limit })
    const mine = taken.find((e) => e.value === record.id)
    if (mine) {
      slots.push({ key: mine.key, version: mine.version })
      continue
    }
    const used = new Set(taken.map((e) => e.key))
    let free: SlotClaim | undefined
    for (let i = 0; i < limit && !free; i++) {
      const k = keys.slot(record.workflowId, encoded, i)
      if (!used.has(k)) free = { key: k, version: 0 }
    }
    if (!free) {
      const holders = await store.getMany(taken.map((e) => keys.run(e.value)))
      for (let i = 0; i < taken.length && !free; i++) {
        const e = taken[i] as (typeof taken)[number]
        const got = holders[i]
        let holds = false
        if (got) {
          try {
            const r = store.decode<RunRecord>(got, keys.run(e.value))
            holds = r.status === 'running' && (r.slots?.includes(e.key) ?? false)
          } catch {
            holds = false
          }
        }
        if (!holds) free = { key: e.key, version: e.version }
      }
    }
    if (!free) return { reason: { kind: 'concurrency', key, limit, until: retryAt } }
    slots.push(free)
  }
  return { slots }
}
