import { ConflictError } from '../errors.js'
import type { Hooks } from '../hooks/registry.js'
import type { Workflow } from '../workflow.js'
import { type AdmissionHost, type Admitted, admit } from './admission.js'
import { keys } from './keys.js'
import type { RunRecord } from './records.js'

/** How a trigger ended: the run it points at, and the record it created (with its version), if it created one. */
export interface Started {
  runId: string
  created?: { record: RunRecord; version: number }
}

/** Tells the observers what flow control did with a request that went through. */
export const emitAdmitted = (hooks: Hooks, wf: Workflow, a: Admitted, runId: string, now: number) => {
  if (a.kind === 'dropped') {
    if (hooks.has('flow:dropped'))
      hooks.emit('flow:dropped', { workflowId: wf.id, runId, reason: 'rate-limit', key: a.error.key, retryAt: a.error.retryAt, at: now })
    return
  }
  if (a.delayed && hooks.has('flow:delayed'))
    hooks.emit('flow:delayed', {
      runId: a.kind === 'existing' ? a.runId : runId,
      workflowId: wf.id,
      version: wf.version,
      at: now,
      reason: a.delayed.kind,
      key: a.delayed.key,
      until: a.delayed.until,
    })
}

/**
 * Starts a run through flow control: admission decides, one batch writes the run and the flow
 * records it moves (each by compare-and-set). A batch refused on a flow record lost a race with
 * another trigger: decided again. A refusal on the run's own record means a run with that id
 * exists: the trigger is idempotent and points at it.
 * @throws RateLimitedError when the rate limit drops the run (nothing written)
 */
export const startRun = async (
  host: AdmissionHost & { hooks: Hooks },
  wf: Workflow,
  input: unknown,
  runId: string,
  runHere: boolean,
  idGiven: boolean,
): Promise<Started> => {
  // An existing id is returned before flow control counts it (a retried request is no new run).
  if (idGiven && wf.flow && (await host.store.get(keys.run(runId)))) return { runId }
  for (let tries = 0; ; tries++) {
    const a = await admit(host, wf, { runId, input, runHere })
    if (a.kind === 'dropped') {
      emitAdmitted(host.hooks, wf, a, runId, host.now())
      throw a.error
    }
    if (a.kind === 'existing' && a.ops.length === 0) return { runId: a.runId }
    const res = await host.store.batch(a.ops)
    if (res.ok) {
      emitAdmitted(host.hooks, wf, a, runId, host.now())
      if (a.kind === 'existing') return { runId: a.runId }
      const at = a.ops.findIndex((op) => op.key === keys.run(runId))
      return { runId, created: { record: a.record, version: res.versions[at] as number } }
    }
    if (a.kind === 'create' && res.conflictKey === keys.run(runId)) return { runId }
    if (tries >= 100) throw new ConflictError(`Trigger of workflow "${wf.id}" kept losing races on "${res.conflictKey}"`, res.conflictKey)
  }
}
