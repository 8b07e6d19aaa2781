import { type Action, action as actionApi, withTimeout } from '../../action.js'
import { toMs } from '../../duration.js'
import { InvalidArgumentError } from '../../errors.js'
import { compose } from '../../hooks/registry.js'
import { assertId } from '../../ids.js'
import { DEFAULT_RETRY, resolveRetry } from '../../retry.js'
import { parseWith } from '../../validation.js'
import {
  declaredSignal,
  type Step,
  type StepFnContext,
  type StepRunOptions,
  type Workflow,
  workflow as workflowApi,
} from '../../workflow.js'
import { FnContext } from '../contexts.js'
import { keys, MAX_TIME } from '../keys.js'
import { deferred } from '../step-promise.js'
import { startAttempts, stepEvent } from './attempts.js'
import { mapStep } from './map.js'
import { onceStep } from './once.js'
import type { StepCall, StepHost } from './types.js'
import { invokeStep, sleepStep, waitStep } from './waits.js'

/** 32-bit FNV-1a of a string, as 8 hex digits: enough to tell two calls' inputs apart, cheap to store. */
export const shortHash = (text: string): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** The hash of a step's input as it would be stored, or nothing when it cannot be encoded. */
const inputHash = (host: StepHost, input: unknown): string | undefined => {
  try {
    return shortHash(host.deps.store.encode(host.deps.store.scrub(input), 'step input'))
  } catch {
    return undefined
  }
}

const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype']

/** Own keys that would change an object's prototype when merged with `Object.assign` or a spread. */
const refuseUnsafeKeys = (value: object, what: string) => {
  for (const key of UNSAFE_KEYS)
    if (Object.hasOwn(value, key))
      throw new InvalidArgumentError(`${what} has a key "${key}", which is refused (it would change an object's prototype)`)
}

const rejected = (error: unknown) => {
  const d = deferred<never>()
  d.reject(error)
  return d.promise
}

/** A time a durable timer can hold: a finite Unix ms no later than the largest Date. */
const checkTime = (at: number, what: string) => {
  if (!Number.isFinite(at) || at > MAX_TIME)
    throw new InvalidArgumentError(`${what} is out of range (${at} ms; a timer can wake up no later than year 275760)`)
  return at
}

/** One action attempt, through the action interceptors and action events. */
const runAction = async (
  host: StepHost,
  act: Action,
  input: unknown,
  stepId: string,
  attempt: number,
  idempotencyKey: string,
  timeoutMs: number | undefined,
) => {
  const { hooks, log, clock } = host.deps
  const call = (next: unknown) =>
    act.attempt(next, {
      idempotencyKey,
      attempt,
      signal: host.controller.signal,
      log,
      runId: host.runId,
      stepId,
      timeoutMs,
      setTimer: clock.setTimer,
    })
  const chain = hooks.interceptors.action
  const observed = hooks.has('action:start') || hooks.has('action:complete') || hooks.has('action:fail')
  if (!chain.length && !observed) return call(input)
  const started = host.now
  const base = () => ({ ...stepEvent(host, stepId, 'action', false, attempt), actionId: act.id })
  if (hooks.has('action:start')) hooks.emit('action:start', { ...base(), input: host.deps.store.scrub(input), idempotencyKey })
  try {
    let output: unknown
    if (chain.length) {
      // Interceptors see validated input, and a short-circuit result is validated like the action's
      // own, so a mock cannot hide input or output the real action would refuse.
      const parsed = await act.parseInput(input)
      let called = false
      output = await compose(
        chain,
        { runId: host.runId, workflowId: host.workflow.id, stepId, action: act, attempt, idempotencyKey, input: parsed },
        (next) => {
          called = true
          return call(next)
        },
        parsed,
      )
      if (!called) output = await parseWith(act.outputSchema, output, `output of action "${act.id}"`)
    } else output = await call(input)
    if (hooks.has('action:complete'))
      hooks.emit('action:complete', { ...base(), output: host.deps.store.scrub(output), durationMs: host.now - started })
    return output
  } catch (error) {
    if (hooks.has('action:fail')) hooks.emit('action:fail', { ...base(), error: error as Error, durationMs: host.now - started })
    throw error
  }
}

/** The `step` API a workflow function receives, on top of a {@link StepHost}. */
export const buildStep = (host: StepHost): Step<any> => {
  const step: Step<any> = {
    run(target: Action | string, arg: unknown, options: StepRunOptions = {}): Promise<any> {
      try {
        if (actionApi.isAction(target)) {
          const act = target
          const id = host.nextStepId(options.id === undefined ? act.id : assertId(options.id, 'step id'))
          const timeoutMs = options.timeout === undefined ? act.timeoutMs : toMs(options.timeout, `timeout of step "${id}"`)
          const d = deferred<unknown>()
          const call: StepCall = {
            id,
            kind: 'action',
            hash: inputHash(host, arg),
            d,
            start: (entry) =>
              startAttempts(
                host,
                {
                  call,
                  kind: 'action',
                  policy: options.retry === undefined ? act.retry : resolveRetry(options.retry, act.retry),
                  input: arg,
                  execute: (attempt, key) => runAction(host, act, arg, id, attempt, key, timeoutMs),
                },
                entry,
              ),
          }
          host.request(call)
          return d.promise
        }
        if (typeof target !== 'string' || typeof arg !== 'function')
          throw new InvalidArgumentError('step.run needs (action, input) or (name, fn)')
        const fn = arg as (ctx: StepFnContext) => unknown
        const id = host.nextStepId(assertId(options.id ?? target, 'step name'))
        const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, `timeout of step "${id}"`)
        const d = deferred<unknown>()
        const call: StepCall = {
          id,
          kind: 'fn',
          d,
          start: (entry) =>
            startAttempts(
              host,
              {
                call,
                kind: 'fn',
                policy: resolveRetry(options.retry, DEFAULT_RETRY),
                execute: async (attempt, key) => {
                  // No timeout and nothing aborted: no signal of its own, the execution's one made only if read.
                  if (timeoutMs === undefined && !host.aborted) return fn(new FnContext(host, attempt, key))
                  return withTimeout(
                    (signal) => fn({ signal, attempt, idempotencyKey: key }),
                    timeoutMs,
                    host.controller.signal,
                    `Step "${id}"`,
                    host.deps.clock.setTimer,
                  )
                },
              },
              entry,
            ),
        }
        host.request(call)
        return d.promise
      } catch (error) {
        return rejected(error)
      }
    },
    sleep(duration, options) {
      try {
        const ms = toMs(duration, 'sleep duration')
        // Checked when the sleep starts (not on replay, where its journaled wake-up time counts).
        return sleepStep(host, options?.id ?? 'sleep', () => checkTime(host.now + ms, `sleep("${String(duration)}")`))
      } catch (error) {
        return rejected(error)
      }
    },
    sleepUntil(until, options) {
      const at = until instanceof Date ? until.getTime() : until
      if (typeof at !== 'number' || !Number.isFinite(at) || at > MAX_TIME)
        return rejected(new InvalidArgumentError(`step.sleepUntil needs a Date or Unix ms up to year 275760, got ${String(until)}`))
      return sleepStep(host, options?.id ?? 'sleep', () => at)
    },
    waitForEvent(name, options = {}) {
      try {
        if (typeof name !== 'string' || name === '' || name.startsWith('$'))
          throw new InvalidArgumentError(`Invalid event name ${JSON.stringify(name)}`)
        // A workflow that declares signals parses the payload with the declared schema (and waits for no other name).
        const schema = declaredSignal(host.workflow, name) ?? options.schema
        const id = host.nextStepId(options.id ?? `wait:${name}`)
        const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, `timeout of waitForEvent("${name}")`)
        if (timeoutMs !== undefined) checkTime(host.now + timeoutMs, `timeout of waitForEvent("${name}")`)
        return waitStep(host, id, name, timeoutMs, schema as never) as Promise<any>
      } catch (error) {
        return rejected(error)
      }
    },
    setState(patch) {
      return onceStep(
        host,
        'setState',
        'state',
        async () => {
          const current = host.state
          if (typeof patch === 'object' && patch !== null) refuseUnsafeKeys(patch, 'setState patch')
          const next = typeof patch === 'function' ? patch(structuredClone(current)) : Object.assign(Object.create(null), current, patch)
          if (typeof next === 'object' && next !== null) refuseUnsafeKeys(next, 'state')
          const valid = await parseWith<Record<string, unknown>>(host.workflow.stateSchema, next, `state of run "${host.runId}"`)
          const plain = host.deps.store.serializer.decode(host.deps.store.encode(host.deps.store.scrub(valid), 'state')) as Record<
            string,
            unknown
          >
          host.checkSize(host.deps.store.encode(plain, 'state'), host.deps.limits.stateBytes, 'the state')
          return { value: plain, patch: { state: plain } }
        },
        {
          onValue: (value, replayed, stepId) => {
            const previous = replayed ? undefined : structuredClone(host.state)
            for (const k of Object.keys(host.state)) delete host.state[k]
            Object.assign(host.state, structuredClone(value))
            const { hooks } = host.deps
            if (!replayed && hooks.has('state:change'))
              hooks.emit('state:change', {
                runId: host.runId,
                workflowId: host.workflow.id,
                version: host.workflow.version,
                at: host.now,
                stepId,
                state: value,
                previous,
              })
          },
        },
      )
    },
    invoke(child: Workflow, input: unknown, options: { id?: string } = {}) {
      if (!workflowApi.isWorkflow(child)) return rejected(new InvalidArgumentError('step.invoke needs a workflow made by workflow.create'))
      const id = host.nextStepId(options.id ?? `invoke:${child.id}`)
      return invokeStep(host, child, input, id, inputHash(host, input)) as Promise<any>
    },
    map(items, fn, options) {
      return mapStep(host, items, fn, options)
    },
    now() {
      return onceStep(host, 'now', 'now', () => ({ value: host.now }))
    },
    uuid() {
      return onceStep(host, 'uuid', 'uuid', () => ({ value: host.deps.random.uuid() }))
    },
    store: {
      get<T>(key: string) {
        return onceStep<T | undefined>(host, `store.get:${key}`, 'store.get', async () => {
          const e = await host.deps.store.get(keys.kv(key))
          return { value: e ? host.deps.store.decode<T>(e, keys.kv(key)) : undefined }
        })
      },
      set(key, value, options = {}) {
        let ttl: number | undefined
        let encoded: string
        try {
          ttl = options.ttl === undefined ? undefined : toMs(options.ttl, 'ttl')
          encoded = host.deps.store.encode(host.deps.store.scrub(value), `store value "${key}"`)
        } catch (error) {
          return rejected(error)
        }
        return onceStep<void>(
          host,
          `store.set:${key}`,
          'store.set',
          () => ({
            value: undefined,
            put: [{ op: 'set', key: keys.kv(key), value: encoded, ...(ttl === undefined ? {} : { expiresAt: host.now + ttl }) }],
          }),
          { hash: shortHash(encoded) },
        )
      },
      delete(key) {
        return onceStep(host, `store.delete:${key}`, 'store.delete', async () => {
          const existed = (await host.deps.store.get(keys.kv(key))) !== undefined
          return { value: existed, put: [{ op: 'delete', key: keys.kv(key) }] }
        })
      },
    },
  }
  return step
}
