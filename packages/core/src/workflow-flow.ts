import { toMs } from './duration.js'
import { tickTimes } from './engine/cron.js'
import { InvalidArgumentError } from './errors.js'
import type { FlowControl, FlowKey, WorkflowSchedule } from './workflow.js'

/** Checks the flow-control options of `workflow.create` once, so a typo fails at definition time. */

const keyFn = (id: string, what: string, key: unknown): FlowKey<any> | undefined => {
  if (key === undefined) return undefined
  if (typeof key !== 'function') throw new InvalidArgumentError(`Workflow "${id}": ${what}.key must be a function (input) => string`)
  return key as FlowKey<any>
}

const positiveInt = (id: string, what: string, n: unknown): number => {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000)
    throw new InvalidArgumentError(`Workflow "${id}": ${what} must be an integer from 1 to 100000, got ${String(n)}`)
  return n
}

const objectOf = (id: string, what: string, value: unknown): Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError(`Workflow "${id}": ${what} must be an object`)
  return value as Record<string, unknown>
}

const periodOf = (id: string, what: string, value: unknown): number => {
  const ms = toMs(value as never, `${what} of workflow "${id}"`)
  if (ms <= 0) throw new InvalidArgumentError(`Workflow "${id}": ${what} must be longer than 0`)
  return ms
}

const rate = (id: string, what: string, value: unknown) => {
  const o = objectOf(id, what, value)
  return {
    key: keyFn(id, what, o.key),
    limit: positiveInt(id, `${what}.limit`, o.limit),
    periodMs: periodOf(id, `${what}.period`, o.period),
  }
}

export const flowControlOf = (id: string, config: Record<string, unknown>): FlowControl | undefined => {
  const { concurrency, rateLimit, throttle, debounce, singleton, priority } = config
  if ([concurrency, rateLimit, throttle, debounce, singleton, priority].every((v) => v === undefined)) return undefined
  const flow: FlowControl = {
    concurrency: (concurrency === undefined ? [] : Array.isArray(concurrency) ? concurrency : [concurrency]).map((c, i) => {
      const o = objectOf(id, `concurrency[${i}]`, c)
      return { key: keyFn(id, 'concurrency', o.key), limit: positiveInt(id, 'concurrency.limit', o.limit) }
    }),
  }
  if (rateLimit !== undefined) flow.rateLimit = rate(id, 'rateLimit', rateLimit)
  if (throttle !== undefined) flow.throttle = rate(id, 'throttle', throttle)
  if (debounce !== undefined) {
    const o = objectOf(id, 'debounce', debounce)
    flow.debounce = { key: keyFn(id, 'debounce', o.key), periodMs: periodOf(id, 'debounce.period', o.period) }
    if (o.timeout !== undefined) flow.debounce.timeoutMs = periodOf(id, 'debounce.timeout', o.timeout)
  }
  if (singleton !== undefined) {
    const o = objectOf(id, 'singleton', singleton)
    if (o.mode !== 'skip' && o.mode !== 'cancel')
      throw new InvalidArgumentError(`Workflow "${id}": singleton.mode must be 'skip' or 'cancel', got ${JSON.stringify(o.mode)}`)
    flow.singleton = { key: keyFn(id, 'singleton', o.key), mode: o.mode }
  }
  if (priority !== undefined) {
    if (typeof priority !== 'function') throw new InvalidArgumentError(`Workflow "${id}": priority must be a function (input) => number`)
    flow.priority = priority as (input: unknown) => number
  }
  return Object.freeze(flow)
}

export const scheduleOf = (id: string, schedule: unknown): WorkflowSchedule | undefined => {
  if (schedule === undefined) return undefined
  const o = objectOf(id, 'schedule', schedule)
  if (typeof o.cron !== 'string') throw new InvalidArgumentError(`Workflow "${id}": schedule.cron must be a cron expression`)
  tickTimes({ cron: o.cron, timezone: o.timezone as string | undefined })
  if (o.overlap !== undefined && !['skip', 'buffer-one', 'allow'].includes(o.overlap as string))
    throw new InvalidArgumentError(`Workflow "${id}": schedule.overlap must be 'skip', 'buffer-one' or 'allow'`)
  if (o.catchup !== undefined && !['none', 'latest', 'all'].includes(o.catchup as string))
    throw new InvalidArgumentError(`Workflow "${id}": schedule.catchup must be 'none', 'latest' or 'all'`)
  return Object.freeze({ ...(o as unknown as WorkflowSchedule) })
}
