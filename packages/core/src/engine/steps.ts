import { randomUUID } from 'node:crypto'
import { type Action, action as actionApi, withTimeout } from '../action.js'
import type { WriteOp } from '../datastore/types.js'
import { toMs } from '../duration.js'
import { InvalidArgumentError, toError } from '../errors.js'
import { compose } from '../hooks/registry.js'
import type { StepEventBase } from '../hooks/types.js'
import { assertId } from '../ids.js'
import { DEFAULT_RETRY, isRetryable, type ResolvedRetry, resolveRetry, retryDelay } from '../retry.js'
import { parseWith } from '../validation.js'
import { type Step, type StepFnContext, type StepRunOptions, type Workflow, workflow as workflowApi } from '../workflow.js'
import { FnContext } from './contexts.js'
import type { Execution } from './execution.js'
import { keys } from './keys.js'
import { never } from './never.js'
import { fromStoredError, type StepKind, type StoredError, toStoredError } from './records.js'
import { SimulatedCrash } from './store.js'

const PARK = Symbol('park')

const stepEvent = (exec: Execution, stepId: string, kind: StepKind, replayed: boolean, attempt?: number): StepEventBase => ({
  ...exec.eventBase(),
  stepId,
  kind,
  replayed,
  attempt,
})

/** Reports a step whose result came from the journal. */
const replayed = (exec: Execution, stepId: string, kind: StepKind, value: unknown, error?: StoredError) => {
  const { hooks } = exec.deps
  if (error) {
    if (hooks.has('step:fail'))
      hooks.emit('step:fail', { ...stepEvent(exec, stepId, kind, true), error: fromStoredError(error), durationMs: 0 })
  } else if (hooks.has('step:complete')) {
    hooks.emit('step:complete', { ...stepEvent(exec, stepId, kind, true), output: value, durationMs: 0 })
  }
}

/**
 * Encodes, size-checks and decodes a step result, so the first run sees exactly what a replay will.
 * The encoding goes into the journal entry as it is (see `Execution.commit`).
 */
const settle = (exec: Execution, stepId: string, value: unknown): { value: unknown; encoded: string } => {
  const encoded = exec.deps.store.encode(exec.deps.store.scrub(value), `result of step "${stepId}"`)
  exec.checkSize(encoded, exec.deps.limits.stepBytes, `the result of step "${stepId}"`)
  return { value: exec.deps.store.serializer.decode(encoded), encoded }
}

type Outcome = { value: unknown } | { error: Error } | { block: number } | { delay: number } | { never: true }

interface AttemptPlan {
  stepId: string
  kind: 'action' | 'fn'
  policy: ResolvedRetry
  /** Runs one attempt; returns the raw result. */
  execute: (attempt: number, idempotencyKey: string) => Promise<unknown>
  input?: unknown
}

const oneAttempt = async (exec: Execution, plan: AttemptPlan, attempt: number): Promise<Outcome> => {
  const { hooks, beforeCommit } = exec.deps
  const { stepId, kind } = plan
  const started = exec.now
  const key = `${exec.runId}:${stepId}`
  if (hooks.has('step:start')) hooks.emit('step:start', stepEvent(exec, stepId, kind, false, attempt))
  try {
    const run = () => plan.execute(attempt, key)
    const chain = hooks.interceptors.step
    const raw = chain.length
      ? await compose(chain, { runId: exec.runId, workflowId: exec.workflow.id, stepId, kind, attempt, input: plan.input }, run)
      : await run()
    if (exec.closed) return { never: true }
    const { value, encoded } = settle(exec, stepId, raw)
    beforeCommit?.({ runId: exec.runId, stepId, kind })
    // The workflow goes on at once; the entry is sent with whatever comes next (the next step waits
    // for it to be durable before its own work; a completion or suspension carries it in its batch).
    const durable = exec.commit({ id: stepId, kind, status: 'done', value, attempt, ms: exec.now - started }, {}, [], false, encoded)
    if (hooks.has('step:complete')) {
      const event = { ...stepEvent(exec, stepId, kind, false, attempt), output: value, durationMs: exec.now - started }
      void durable.then(() => hooks.emit('step:complete', event))
    }
    return { value }
  } catch (error) {
    if (error instanceof SimulatedCrash) {
      exec.abandon(error)
      return { never: true }
    }
    if (exec.closed) return { never: true }
    const err = toError(error)
    if (isRetryable(err) && attempt <= plan.policy.retries) {
      const delay = retryDelay(plan.policy, attempt, err)
      const nextAttemptAt = exec.now + delay
      await exec.commit({ id: stepId, kind, status: 'retrying', attempt, nextAttemptAt, error: toStoredError(err, true) })
      if (hooks.has('step:retry'))
        hooks.emit('step:retry', { ...stepEvent(exec, stepId, kind, false, attempt), error: err, nextAttemptAt, delayMs: delay })
      return delay <= exec.deps.inlineRetryMs ? { delay } : { block: nextAttemptAt }
    }
    const stored = toStoredError(err, false)
    if (attempt > 1 && isRetryable(err)) {
      stored.message = `Step "${stepId}" of run "${exec.runId}" failed after ${attempt} attempts: ${err.message}`
      stored.code = 'ERR_ACTION_FAILED'
      stored.name = 'ActionFailedError'
    }
    await exec.commit({ id: stepId, kind, status: 'failed', attempt, error: stored, ms: exec.now - started })
    if (hooks.has('step:fail'))
      hooks.emit('step:fail', { ...stepEvent(exec, stepId, kind, false, attempt), error: err, durationMs: exec.now - started })
    return { error: fromStoredError(stored) }
  }
}

/** Runs attempts until one commits, the step fails for good, or a retry delay suspends the run. */
const runAttempts = async (exec: Execution, plan: AttemptPlan, firstAttempt: number, fresh: boolean): Promise<unknown> => {
  let attempt = firstAttempt
  for (;;) {
    let outcome: Outcome
    exec.enter()
    try {
      if (fresh) {
        const wait = exec.ensureFresh(plan.stepId)
        if (wait) await wait
      }
      fresh = false
      if (!exec.stopping && !exec.closedForSteps) {
        // A step with effects starts only once every earlier commit of the run is durable.
        const wait = exec.beforeWork()
        if (wait) await wait
      }
      outcome = exec.stopping || exec.closedForSteps ? { block: exec.now } : await oneAttempt(exec, plan, attempt)
      if ('delay' in outcome) {
        const delay = outcome.delay
        await new Promise<void>((resolve) => exec.deps.clock.setTimer(resolve, delay))
      }
    } finally {
      exec.leave()
    }
    if ('never' in outcome || exec.closed) return never()
    if ('value' in outcome) return outcome.value
    if ('error' in outcome) throw outcome.error
    if ('block' in outcome) return exec.block({ until: outcome.block })
    attempt++
  }
}

/** Replays or runs an action / fn step. */
const runStep = (exec: Execution, plan: AttemptPlan): Promise<unknown> => {
  const { stepId, kind } = plan
  const entry = exec.replay(stepId, kind)
  let attempt = 1
  if (entry) {
    if (entry.status === 'done') {
      replayed(exec, stepId, kind, entry.value)
      return Promise.resolve(entry.value)
    }
    if (entry.status === 'failed' && (entry.gen === exec.record.generation || entry.seq < (exec.record.retryFromSeq ?? 0))) {
      replayed(exec, stepId, kind, undefined, entry.error)
      return Promise.reject(fromStoredError(entry.error as StoredError))
    }
    if (entry.status === 'retrying') {
      attempt = (entry.attempt ?? 0) + 1
      if ((entry.nextAttemptAt ?? 0) > exec.now) return exec.block({ until: entry.nextAttemptAt })
    }
  }
  return runAttempts(exec, plan, attempt, entry === undefined)
}

/** A step that computes one value once (now, uuid, store reads/writes, setState). */
const once = async <T>(
  exec: Execution,
  base: string,
  kind: StepKind,
  compute: () => Promise<{ value: T; extra?: WriteOp[] }> | { value: T; extra?: WriteOp[] },
  onValue?: (value: T, replayed: boolean, stepId: string) => void,
): Promise<T> => {
  const stepId = exec.nextStepId(base)
  const entry = exec.replay(stepId, kind)
  if (entry && entry.status === 'done') {
    onValue?.(entry.value as T, true, stepId)
    replayed(exec, stepId, kind, entry.value)
    return entry.value as T
  }
  let value: T
  exec.enter()
  try {
    await exec.ensureFresh(stepId)
    if (exec.stopping || exec.closedForSteps) value = PARK as never
    else {
      await exec.beforeWork()
      const started = exec.now
      const out = await compute()
      const settled = settle(exec, stepId, out.value)
      value = settled.value as T
      exec.deps.beforeCommit?.({ runId: exec.runId, stepId, kind })
      await exec.commit(
        { id: stepId, kind, status: 'done', value, ms: exec.now - started },
        kind === 'state' ? { state: value } : {},
        out.extra,
        true,
        settled.encoded,
      )
      onValue?.(value, false, stepId)
      const { hooks } = exec.deps
      if (hooks.has('step:complete'))
        hooks.emit('step:complete', { ...stepEvent(exec, stepId, kind, false), output: value, durationMs: exec.now - started })
    }
  } catch (error) {
    if (error instanceof SimulatedCrash) {
      exec.abandon(error)
      value = PARK as never
    } else throw error
  } finally {
    exec.leave()
  }
  if (value === (PARK as unknown)) return exec.block({ until: exec.now })
  return value
}

/** A durable timer: the wake-up time is journaled when first reached, then the run sleeps until it. */
const sleepUntil = async (exec: Execution, base: string, until: () => number): Promise<void> => {
  const stepId = exec.nextStepId(base)
  const entry = exec.replay(stepId, 'sleep')
  if (entry?.status === 'done') return replayed(exec, stepId, 'sleep', undefined)
  let wakeAt = entry?.until
  exec.enter()
  try {
    if (wakeAt === undefined) {
      await exec.ensureFresh(stepId)
      wakeAt = until()
      // Not awaited: the run's suspension (or the `done` entry) carries it in the same batch.
      void exec.commit({ id: stepId, kind: 'sleep', status: 'started', until: wakeAt }, {}, [], false)
    }
    if (exec.now >= wakeAt && !exec.closedForSteps) {
      await exec.commit({ id: stepId, kind: 'sleep', status: 'done', until: wakeAt })
      const { hooks } = exec.deps
      if (hooks.has('timer:fire')) hooks.emit('timer:fire', { ...exec.eventBase(), scheduledAt: wakeAt, lateMs: exec.now - wakeAt })
      return
    }
  } finally {
    exec.leave()
  }
  return exec.block({ until: wakeAt })
}

/** Waits for a named signal (or a child's result), with an optional deadline. */
const waitFor = async (
  exec: Execution,
  stepId: string,
  name: string,
  timeoutMs: number | undefined,
  kind: 'wait' | 'invoke',
  childId?: string,
) => {
  const entry = exec.replay(stepId, kind)
  if (entry?.status === 'done' || entry?.status === 'failed') {
    replayed(exec, stepId, kind, entry.value, entry.status === 'failed' ? entry.error : undefined)
    return entry
  }
  let deadline = entry?.until
  exec.enter()
  try {
    if (!entry) {
      await exec.ensureFresh(stepId)
      deadline = timeoutMs === undefined ? undefined : exec.now + timeoutMs
      // Not awaited: the run's suspension (or the `done` entry) carries it in the same batch.
      void exec.commit({ id: stepId, kind, status: 'started', until: deadline, childId }, {}, [], false)
    }
    const sig = exec.takeSignal(name, deadline)
    if (sig) {
      const { hooks } = exec.deps
      if (hooks.has('signal:receive') && kind === 'wait') {
        hooks.emit('signal:receive', { ...exec.eventBase(), name, payload: sig.rec.payload, sentAt: sig.rec.sentAt })
      }
      return { status: 'signal' as const, payload: sig.rec.payload, key: sig.key, deadline }
    }
    if (deadline !== undefined && exec.now >= deadline) return { status: 'timeout' as const, deadline }
  } finally {
    exec.leave()
  }
  return exec.block({ until: deadline, event: name })
}

export const buildStep = (exec: Execution): Step<any> => {
  const log = exec.deps.log
  const step: Step<any> = {
    run(target: Action | string, arg: unknown, options: StepRunOptions = {}): Promise<any> {
      if (actionApi.isAction(target)) {
        const act = target
        const stepId = exec.nextStepId(options.id === undefined ? act.id : assertId(options.id, 'step id'))
        const timeoutMs = options.timeout === undefined ? act.timeoutMs : toMs(options.timeout, `timeout of step "${stepId}"`)
        return runStep(exec, {
          stepId,
          kind: 'action',
          policy: options.retry === undefined ? act.retry : resolveRetry(options.retry, act.retry),
          input: arg,
          execute: (attempt, idempotencyKey) => {
            const call = (input: unknown) =>
              act.attempt(input, { idempotencyKey, attempt, signal: exec.controller.signal, log, runId: exec.runId, stepId, timeoutMs })
            return runAction(exec, act, arg, stepId, attempt, idempotencyKey, call)
          },
        })
      }
      if (typeof target !== 'string' || typeof arg !== 'function') {
        return Promise.reject(new InvalidArgumentError('step.run needs (action, input) or (name, fn)'))
      }
      const fn = arg as (ctx: StepFnContext) => unknown
      const stepId = exec.nextStepId(assertId(options.id ?? target, 'step name'))
      const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, `timeout of step "${stepId}"`)
      return runStep(exec, {
        stepId,
        kind: 'fn',
        policy: resolveRetry(options.retry, DEFAULT_RETRY),
        execute: async (attempt, idempotencyKey) => {
          // No timeout and nothing aborted: no signal of its own, the execution's one made only if read.
          if (timeoutMs === undefined && !exec.aborted) return fn(new FnContext(exec, attempt, idempotencyKey))
          return withTimeout((signal) => fn({ signal, attempt, idempotencyKey }), timeoutMs, exec.controller.signal, `Step "${stepId}"`)
        },
      })
    },
    sleep(duration, options) {
      const ms = toMs(duration, 'sleep duration')
      return sleepUntil(exec, options?.id ?? 'sleep', () => exec.now + ms)
    },
    sleepUntil(until, options) {
      const at = until instanceof Date ? until.getTime() : until
      if (!Number.isFinite(at))
        return Promise.reject(new InvalidArgumentError(`step.sleepUntil needs a Date or Unix ms, got ${String(until)}`))
      return sleepUntil(exec, options?.id ?? 'sleep', () => at)
    },
    async waitForEvent(name, options = {}) {
      if (typeof name !== 'string' || name === '' || name.startsWith('$'))
        throw new InvalidArgumentError(`Invalid event name ${JSON.stringify(name)}`)
      const stepId = exec.nextStepId(options.id ?? `wait:${name}`)
      const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, `timeout of waitForEvent("${name}")`)
      const got = await waitFor(exec, stepId, name, timeoutMs, 'wait')
      if ('seq' in got) {
        if (got.status === 'failed') throw fromStoredError(got.error as StoredError)
        return got.value as any
      }
      if (got.status === 'timeout') {
        await commitOrPark(exec, { id: stepId, kind: 'wait', status: 'done', value: null, until: got.deadline })
        return null
      }
      let payload: unknown
      try {
        payload = await parseWith(options.schema, got.payload, `payload of event "${name}"`)
      } catch (error) {
        const stored = toStoredError(error, false)
        await commitOrPark(exec, { id: stepId, kind: 'wait', status: 'failed', error: stored, signalKey: got.key }, [
          { op: 'delete', key: got.key },
        ])
        throw fromStoredError(stored)
      }
      const { value } = settle(exec, stepId, payload)
      await commitOrPark(exec, { id: stepId, kind: 'wait', status: 'done', value, signalKey: got.key, until: got.deadline }, [
        { op: 'delete', key: got.key },
      ])
      return value as any
    },
    setState(patch) {
      return once(
        exec,
        'setState',
        'state',
        async () => {
          const current = exec.state
          const next = typeof patch === 'function' ? patch(structuredClone(current)) : { ...current, ...patch }
          const valid = await parseWith<Record<string, unknown>>(exec.workflow.stateSchema, next, `state of run "${exec.runId}"`)
          exec.checkSize(exec.deps.store.encode(valid, 'state'), exec.deps.limits.stateBytes, 'the state')
          return { value: valid }
        },
        (value, wasReplayed, stepId) => {
          const previous = wasReplayed ? undefined : structuredClone(exec.state)
          for (const k of Object.keys(exec.state)) delete exec.state[k]
          Object.assign(exec.state, structuredClone(value))
          const { hooks } = exec.deps
          if (!wasReplayed && hooks.has('state:change')) hooks.emit('state:change', { ...exec.eventBase(), stepId, state: value, previous })
        },
      )
    },
    async invoke(child: Workflow, input: unknown, options: { id?: string } = {}) {
      if (!workflowApi.isWorkflow(child)) throw new InvalidArgumentError('step.invoke needs a workflow made by workflow.create')
      const stepId = exec.nextStepId(options.id ?? `invoke:${child.id}`)
      const prior = exec.journal.get(stepId)
      const childId = prior?.childId ?? `${exec.runId}/${stepId}`
      if (!prior) {
        exec.enter()
        try {
          await exec.ensureFresh(stepId)
          await exec.beforeWork()
          const parsed = await parseWith(child.inputSchema, input, `input of workflow "${child.id}"`)
          await exec.deps.startChild(child, parsed, childId, { runId: exec.runId, stepId })
        } finally {
          exec.leave()
        }
      }
      const got = await waitFor(exec, stepId, `$child:${stepId}`, undefined, 'invoke', childId)
      if ('seq' in got) {
        if (got.status === 'failed') throw fromStoredError(got.error as StoredError)
        return got.value as any
      }
      const result = (got as { payload: { status: string; output?: unknown; error?: StoredError } }).payload
      const key = (got as { key: string }).key
      if (result.status === 'completed') {
        await commitOrPark(exec, { id: stepId, kind: 'invoke', status: 'done', value: result.output, childId, signalKey: key }, [
          { op: 'delete', key },
        ])
        return result.output as any
      }
      const error = result.error ?? { name: 'Error', message: `child run "${childId}" ${result.status}` }
      await commitOrPark(exec, { id: stepId, kind: 'invoke', status: 'failed', error, childId, signalKey: key }, [{ op: 'delete', key }])
      throw fromStoredError(error)
    },
    now() {
      return once(exec, 'now', 'now', () => ({ value: exec.now }))
    },
    uuid() {
      return once(exec, 'uuid', 'uuid', () => ({ value: randomUUID() }))
    },
    store: {
      get<T>(key: string) {
        return once<T | undefined>(exec, `store.get:${key}`, 'store.get', async () => {
          const e = await exec.deps.store.get(keys.kv(key))
          return { value: e ? exec.deps.store.decode<T>(e, keys.kv(key)) : undefined }
        })
      },
      async set(key, value, options = {}) {
        const ttl = options.ttl === undefined ? undefined : toMs(options.ttl, 'ttl')
        await once(exec, `store.set:${key}`, 'store.set', () => {
          const op: WriteOp = {
            op: 'set',
            key: keys.kv(key),
            value: exec.deps.store.encode(exec.deps.store.scrub(value), `store value "${key}"`),
          }
          if (ttl !== undefined) op.expiresAt = exec.now + ttl
          return { value: true, extra: [op] }
        })
      },
      delete(key) {
        return once(exec, `store.delete:${key}`, 'store.delete', async () => {
          const existed = (await exec.deps.store.get(keys.kv(key))) !== undefined
          return { value: existed, extra: [{ op: 'delete', key: keys.kv(key) }] }
        })
      },
    },
  }
  return step
}

/** Commits the outcome of a wait; parks the run instead when the execution is ending. */
const commitOrPark = async (exec: Execution, entry: Parameters<Execution['commit']>[0], extra: WriteOp[] = []) => {
  exec.enter()
  try {
    await exec.commit(entry, {}, extra)
  } finally {
    exec.leave()
  }
  const { hooks } = exec.deps
  const event = { ...stepEvent(exec, entry.id, entry.kind, false), durationMs: 0 }
  if (entry.status === 'failed') {
    if (hooks.has('step:fail')) hooks.emit('step:fail', { ...event, error: fromStoredError(entry.error as StoredError) })
  } else if (hooks.has('step:complete')) hooks.emit('step:complete', { ...event, output: entry.value })
}

/** One action attempt, through the action interceptors and action events. */
const runAction = async (
  exec: Execution,
  act: Action,
  input: unknown,
  stepId: string,
  attempt: number,
  idempotencyKey: string,
  call: (input: unknown) => Promise<unknown>,
): Promise<unknown> => {
  const { hooks } = exec.deps
  const chain = hooks.interceptors.action
  const observed = hooks.has('action:start') || hooks.has('action:complete') || hooks.has('action:fail')
  if (!chain.length && !observed) return call(input)
  const started = exec.now
  const base = () => ({ ...stepEvent(exec, stepId, 'action', false, attempt), actionId: act.id })
  if (hooks.has('action:start')) hooks.emit('action:start', { ...base(), input: exec.deps.store.scrub(input), idempotencyKey })
  try {
    let output: unknown
    if (chain.length) {
      // Interceptors see validated input, and a short-circuit result is validated like the action's
      // own, so a mock cannot hide input or output the real action would refuse.
      const parsed = await act.parseInput(input)
      let called = false
      output = await compose(
        chain,
        { runId: exec.runId, workflowId: exec.workflow.id, stepId, action: act, attempt, idempotencyKey, input: parsed },
        (next) => {
          called = true
          return call(next)
        },
        parsed,
      )
      if (!called) output = await parseWith(act.outputSchema, output, `output of action "${act.id}"`)
    } else output = await call(input)
    if (hooks.has('action:complete'))
      hooks.emit('action:complete', { ...base(), output: exec.deps.store.scrub(output), durationMs: exec.now - started })
    return output
  } catch (error) {
    if (hooks.has('action:fail')) hooks.emit('action:fail', { ...base(), error: toError(error), durationMs: exec.now - started })
    throw error
  }
}
