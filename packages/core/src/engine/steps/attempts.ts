import { toError } from '../../errors.js'
import { compose } from '../../hooks/registry.js'
import type { StepEventBase } from '../../hooks/types.js'
import { isRetryable, type ResolvedRetry, retryDelay } from '../../retry.js'
import { fromStoredError, type JournalEntry, type StepKind, toStoredError } from '../records.js'
import { SimulatedCrash } from '../store.js'
import type { StepCall, StepHost } from './types.js'

export const stepEvent = (host: StepHost, stepId: string, kind: StepKind, replayed: boolean, attempt?: number): StepEventBase => ({
  runId: host.runId,
  workflowId: host.workflow.id,
  version: host.workflow.version,
  at: host.now,
  stepId,
  kind,
  replayed,
  attempt,
})

/** An action or function step: how to make one attempt, and how often to try. */
export interface AttemptPlan {
  call: StepCall
  kind: 'action' | 'fn'
  policy: ResolvedRetry
  input?: unknown
  /** Runs one attempt; returns the raw result. */
  execute: (attempt: number, idempotencyKey: string) => Promise<unknown>
}

type Tried = 'done' | 'gone' | { retryAt: number; delay: number }

/**
 * One attempt: the step interceptors around the work; a result is handed to the code (and
 * journaled in that order), a failure is retried (journaled as `retrying`) or handed over.
 */
const attemptOnce = async (host: StepHost, plan: AttemptPlan, attempt: number): Promise<Tried> => {
  const { hooks, beforeCommit } = host.deps
  const { call, kind } = plan
  const stepId = call.id
  const started = host.now
  if (hooks.has('step:start')) hooks.emit('step:start', stepEvent(host, stepId, kind, false, attempt))
  try {
    const run = () => plan.execute(attempt, `${host.runId}:${stepId}`)
    const chain = hooks.interceptors.step
    const raw = chain.length
      ? await compose(chain, { runId: host.runId, workflowId: host.workflow.id, stepId, kind, attempt, input: plan.input }, run)
      : await run()
    const { value, encoded } = host.storable(stepId, raw)
    beforeCommit?.({ runId: host.runId, stepId, kind })
    const ms = host.now - started
    host.deliver({
      call,
      entry: { id: stepId, kind, status: 'done', value, attempt, ms, h: call.hash },
      encoded,
      durable: hooks.has('step:complete')
        ? () => hooks.emit('step:complete', { ...stepEvent(host, stepId, kind, false, attempt), output: value, durationMs: ms })
        : undefined,
    })
    return 'done'
  } catch (error) {
    if (error instanceof SimulatedCrash) return 'gone'
    const err = toError(error)
    if (isRetryable(err) && attempt <= plan.policy.retries && !host.aborted) {
      const delay = retryDelay(plan.policy, attempt, err)
      const retryAt = host.now + delay
      void host.note({
        id: stepId,
        kind,
        status: 'retrying',
        attempt,
        nextAttemptAt: retryAt,
        error: toStoredError(err, true),
        h: call.hash,
      })
      if (hooks.has('step:retry'))
        hooks.emit('step:retry', { ...stepEvent(host, stepId, kind, false, attempt), error: err, nextAttemptAt: retryAt, delayMs: delay })
      return { retryAt, delay }
    }
    const stored = toStoredError(err, false)
    if (attempt > 1 && isRetryable(err)) {
      stored.message = `Step "${stepId}" of run "${host.runId}" failed after ${attempt} attempts: ${err.message}`
      stored.code = 'ERR_ACTION_FAILED'
      stored.name = 'ActionFailedError'
    }
    const ms = host.now - started
    host.deliver({
      call,
      entry: { id: stepId, kind, status: 'failed', attempt, error: stored, ms, h: call.hash },
      error: fromStoredError(stored),
      durable: hooks.has('step:fail')
        ? () => hooks.emit('step:fail', { ...stepEvent(host, stepId, kind, false, attempt), error: err, durationMs: ms })
        : undefined,
    })
    return 'done'
  }
}

/** Runs attempts until one is handed over or a retry delay parks the step on a durable timer. */
const runAttempts = async (host: StepHost, plan: AttemptPlan, first: number): Promise<void> => {
  host.enter()
  try {
    for (let attempt = first; ; attempt++) {
      // A step with effects starts only once every earlier commit of the run is durable, under our lease.
      const wait = host.beforeWork()
      if (wait) await wait
      if (!host.live) return
      const tried = await attemptOnce(host, plan, attempt)
      if (typeof tried === 'string') return
      if (tried.delay > host.deps.inlineRetryMs) {
        parkRetry(host, plan, attempt + 1, tried.retryAt)
        return
      }
      await host.sleep(tried.delay)
    }
  } finally {
    host.leave()
  }
}

const parkRetry = (host: StepHost, plan: AttemptPlan, attempt: number, at: number) => {
  const id = plan.call.id
  host.park({
    kind: 'timer',
    id,
    at,
    fire: () => {
      host.unpark(id)
      void runAttempts(host, plan, attempt)
    },
  })
}

/** Starts an action or function step, or resumes it from its `retrying` entry. */
export const startAttempts = (host: StepHost, plan: AttemptPlan, entry: JournalEntry | undefined) => {
  if (entry?.status === 'retrying') {
    const attempt = (entry.attempt ?? 0) + 1
    const at = entry.nextAttemptAt ?? 0
    if (at > host.now) return parkRetry(host, plan, attempt, at)
    return void runAttempts(host, plan, attempt)
  }
  void runAttempts(host, plan, 1)
}
