import type { ZodType } from 'zod'
import { toError } from '../../errors.js'
import { parseWith } from '../../validation.js'
import type { Workflow } from '../../workflow.js'
import { type Buffered, childSignal } from '../inbox.js'
import { fromStoredError, type StepKind, type StoredError, toStoredError } from '../records.js'
import { deferred } from '../step-promise.js'
import { SimulatedCrash } from '../store.js'
import { stepEvent } from './attempts.js'
import type { StepCall, StepHost } from './types.js'

const never = () => {}

/** `step:complete` for a step that does no work of its own (a sleep, a wait, a child run), once its entry is durable. */
const completed = (host: StepHost, stepId: string, kind: StepKind, output: unknown) => {
  const { hooks } = host.deps
  if (hooks.has('step:complete')) hooks.emit('step:complete', { ...stepEvent(host, stepId, kind, false), output, durationMs: 0 })
}

const failed = (host: StepHost, stepId: string, kind: StepKind, error: Error) => {
  const { hooks } = host.deps
  if (hooks.has('step:fail')) hooks.emit('step:fail', { ...stepEvent(host, stepId, kind, false), error, durationMs: 0 })
}

/** A durable timer: the wake-up time is journaled when the step starts, then the run sleeps until it. */
export const sleepStep = (host: StepHost, base: string, until: () => number): Promise<void> => {
  const id = host.nextStepId(base)
  const d = deferred<void>()
  const call: StepCall = {
    id,
    kind: 'sleep',
    d: d as never,
    start(entry) {
      let at = entry?.until
      if (at === undefined) {
        try {
          at = until()
        } catch (error) {
          // A wake-up time no timer can hold: the step fails (journaled, so a replay fails it the same way).
          const stored = toStoredError(toError(error), false)
          host.deliver({ call, entry: { id, kind: 'sleep', status: 'failed', error: stored }, error: fromStoredError(stored) })
          return
        }
        void host.note({ id, kind: 'sleep', status: 'started', until: at })
      }
      const wakeAt = at
      host.park({
        kind: 'timer',
        id,
        at: wakeAt,
        fire: () => {
          const { hooks } = host.deps
          host.deliver({
            call,
            entry: { id, kind: 'sleep', status: 'done', until: wakeAt },
            durable: () => {
              if (hooks.has('timer:fire'))
                hooks.emit('timer:fire', {
                  runId: host.runId,
                  workflowId: host.workflow.id,
                  version: host.workflow.version,
                  at: host.now,
                  scheduledAt: wakeAt,
                  lateMs: host.now - wakeAt,
                })
              completed(host, id, 'sleep', undefined)
            },
          })
        },
      })
    },
  }
  host.request(call)
  return d.promise
}

/** Waits for a named signal sent with `engine.signal`, until an optional deadline (then `null`). */
export const waitStep = (host: StepHost, stepId: string, name: string, timeoutMs: number | undefined, schema?: ZodType) => {
  const d = deferred<unknown>()
  const call: StepCall = {
    id: stepId,
    kind: 'wait',
    d,
    start(entry) {
      const deadline = entry ? entry.until : timeoutMs === undefined ? undefined : host.now + timeoutMs
      if (!entry) void host.note({ id: stepId, kind: 'wait', status: 'started', until: deadline })
      host.park({
        kind: 'wait',
        id: stepId,
        name,
        deadline,
        activation: call.activation ?? 0,
        order: call.order ?? 0,
        timeout: () =>
          host.deliver({
            call,
            entry: { id: stepId, kind: 'wait', status: 'done', value: null, until: deadline },
            durable: () => completed(host, stepId, 'wait', null),
          }),
        bind: (signal) => void bindSignal(host, call, signal, deadline, schema),
      })
    },
  }
  host.request(call)
  return d.promise
}

const bindSignal = async (host: StepHost, call: StepCall, signal: Buffered, deadline: number | undefined, schema?: ZodType) => {
  const { hooks } = host.deps
  const stepId = call.id
  const drop = [{ op: 'delete' as const, key: signal.key }]
  host.enter()
  try {
    const payload = await parseWith(schema, signal.rec.payload, `payload of event "${signal.rec.name}"`)
    const { value, encoded } = host.storable(stepId, payload)
    host.deliver({
      call,
      entry: { id: stepId, kind: 'wait', status: 'done', value, signalKey: signal.key, until: deadline },
      encoded,
      drop,
      apply: hooks.has('signal:receive')
        ? () =>
            hooks.emit('signal:receive', {
              runId: host.runId,
              workflowId: host.workflow.id,
              version: host.workflow.version,
              at: host.now,
              name: signal.rec.name,
              payload: value,
              sentAt: signal.rec.sentAt,
            })
        : undefined,
      durable: hooks.has('step:complete')
        ? () => hooks.emit('step:complete', { ...stepEvent(host, stepId, 'wait', false), output: value, durationMs: 0 })
        : undefined,
    })
  } catch (error) {
    const stored = toStoredError(error, false)
    host.deliver({
      call,
      entry: { id: stepId, kind: 'wait', status: 'failed', error: stored, signalKey: signal.key },
      error: fromStoredError(stored),
      drop,
      durable: () => failed(host, stepId, 'wait', fromStoredError(stored)),
    })
  } finally {
    host.leave()
  }
}

type ChildResult = { status: string; output?: unknown; error?: StoredError }

/** Starts a child run (in the same batch as the journal entry that records it) and waits for its end. */
export const invokeStep = (host: StepHost, child: Workflow, input: unknown, stepId: string, hash: string | undefined) => {
  const d = deferred<unknown>()
  const wait = (childId: string) =>
    host.park({
      kind: 'wait',
      id: stepId,
      name: childSignal(stepId),
      activation: call.activation ?? 0,
      order: call.order ?? 0,
      timeout: never,
      bind: (signal) => {
        const result = signal.rec.payload as ChildResult
        const drop = [{ op: 'delete' as const, key: signal.key }]
        if (result.status === 'completed') {
          host.deliver({
            call,
            entry: { id: stepId, kind: 'invoke', status: 'done', value: result.output, childId, signalKey: signal.key, h: hash },
            drop,
            durable: () => completed(host, stepId, 'invoke', result.output),
          })
          return
        }
        const error = result.error ?? { name: 'Error', message: `child run "${childId}" ${result.status}` }
        host.deliver({
          call,
          entry: { id: stepId, kind: 'invoke', status: 'failed', error, childId, signalKey: signal.key, h: hash },
          error: fromStoredError(error),
          drop,
          durable: () => failed(host, stepId, 'invoke', fromStoredError(error)),
        })
      },
    })
  const create = async (childId: string) => {
    host.enter()
    try {
      const ready = host.beforeWork()
      if (ready) await ready
      if (!host.live) return
      const parsed = await parseWith(child.inputSchema, input, `input of workflow "${child.id}"`)
      const ops = await host.deps.newChild(child, parsed, childId, host.parentRef(stepId))
      const durable = host.note(
        { id: stepId, kind: 'invoke', status: 'started', childId, h: hash },
        { put: ops, child: { runId: childId, ops } },
      )
      void host.flush()
      await durable
      host.deps.wake()
      wait(childId)
    } catch (error) {
      if (error instanceof SimulatedCrash) return
      const stored = toStoredError(toError(error), false)
      host.deliver({
        call,
        entry: { id: stepId, kind: 'invoke', status: 'failed', error: stored, h: hash },
        error: fromStoredError(stored),
        durable: () => failed(host, stepId, 'invoke', fromStoredError(stored)),
      })
    } finally {
      host.leave()
    }
  }
  const call: StepCall = {
    id: stepId,
    kind: 'invoke',
    hash,
    d,
    start(entry) {
      const known = host.childOf(stepId) ?? entry?.childId
      if (known) wait(known)
      else void create(`${host.runId}/${stepId}`)
    },
  }
  host.request(call)
  return d.promise
}
