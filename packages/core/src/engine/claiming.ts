import type { Hooks } from '../hooks/registry.js'
import type { Workflow } from '../workflow.js'
import { concurrencyOf, findSlots } from './flow-control.js'
import { timeOfDueKey } from './keys.js'
import type { RunRecord } from './records.js'
import type { Runs } from './runs.js'
import type { EngineStore } from './store.js'

/** What a claim needs from its engine. */
export interface ClaimHost {
  store: EngineStore
  runs: Runs
  hooks: Hooks
  now(): number
  /** How long a run without a free concurrency slot waits before it is looked at again, ms. */
  slotWaitMs: number
  /** Arms the scheduler for `at` (a deferred run's next look). */
  arm(at: number): void
  /**
   * Concurrency keys that made a run wait in the scheduler's current pass (cleared at each pass):
   * a run of lower priority met later in the same pass waits too, even if the slot freed meanwhile,
   * so the slot goes to the run of higher priority at the next pass.
   */
  waited: Set<string>
}

/** The run waits for a concurrency slot and its next look is still to come. */
const waitsAhead = (record: RunRecord, now: number) =>
  record.status === 'pending' &&
  record.pendingReason?.kind === 'concurrency' &&
  record.dueKey !== undefined &&
  timeOfDueKey(record.dueKey) > now

/**
 * Claims a run for this engine, with the concurrency slots its workflow asks for taken in the same
 * batch. Resolves the claimed record and version, or `undefined` when the run waits for a slot
 * (deferred: `pending` with the reason, looked at again later) or another engine won.
 */
export const claimRun = async (h: ClaimHost, wf: Workflow, record: RunRecord, version: number, foundDueKey?: string) => {
  const wanted = concurrencyOf(wf, record.input)
  // A slot another run took between our look and our claim: look again (a few times, then the next pass).
  // Queued behind a run of this pass, and already waiting with a look to come: nothing to read or write.
  if (wanted.some((w) => h.waited.has(`${record.workflowId}\u0000${w.key}`)) && waitsAhead(record, h.now())) return undefined
  for (let tries = 0; tries < 5; tries++) {
    const looked = wanted.length ? await findSlots(h.store, record, wanted, h.now() + h.slotWaitMs) : { slots: [] }
    // A key with no free slot is the reason; a free slot a run met earlier in this pass waited for is queued behind it.
    const queued = 'reason' in looked ? undefined : wanted.find((w) => h.waited.has(`${record.workflowId}\u0000${w.key}`))
    const found = queued
      ? { reason: { kind: 'concurrency' as const, key: queued.key, limit: queued.limit, until: h.now() + h.slotWaitMs } }
      : looked
    if ('reason' in found) {
      h.waited.add(`${record.workflowId}\u0000${found.reason.key}`)
      // Looked at early (a slot was let go, another run took it): its look to come stands, nothing written.
      if (waitsAhead(record, h.now()) && record.pendingReason?.key === found.reason.key) return undefined
      const first = record.pendingReason?.kind !== 'concurrency'
      if ((await h.runs.defer(record, version, found.reason, foundDueKey)) && first && h.hooks.has('flow:delayed'))
        h.hooks.emit('flow:delayed', {
          runId: record.id,
          workflowId: record.workflowId,
          version: record.workflowVersion,
          at: h.now(),
          reason: 'concurrency',
          key: found.reason.key,
          until: found.reason.until,
        })
      h.arm(found.reason.until)
      return undefined
    }
    const got = await h.runs.claim(record, version, foundDueKey, found.slots)
    if ('conflictKey' in got) {
      if (got.conflictKey.startsWith('slot/')) continue
      return undefined
    }
    return got
  }
  return undefined
}
