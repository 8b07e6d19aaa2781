import { AsyncLocalStorage } from 'node:async_hooks'
import { InvalidArgumentError } from '../../errors.js'
import type { StepMapOptions } from '../../workflow.js'
import type { StepHost } from './types.js'

/**
 * The scope of the `step.map` item whose code is running (`map#1[3]/`), carried through its awaits.
 * Step ids are made inside it (`ExecutionCore.nextStepId`), so an item's steps are named after the
 * item, not after the order in which items happened to finish.
 */
const scope = new AsyncLocalStorage<{ host: StepHost; prefix: string }>()

/**
 * The id prefix of the `step.map` item of `host` running now ('' outside any). The context flows
 * into whatever the item's code starts, an unrelated run executed from there included: only the
 * run that made the scope uses it.
 */
export const stepScope = (host: StepHost): string => {
  const s = scope.getStore()
  return s?.host === host ? s.prefix : ''
}

const DEFAULT_CONCURRENCY = 10

/**
 * `step.map`: a pool of at most `concurrency` items; the next item starts when one finishes. Item
 * results reach the code at quiet points in journal order (first run and replay alike), so the
 * pool starts the same items at the same points on replay. A failure stops new items; the running
 * ones finish (none is left in flight) and the first error is thrown.
 */
export const mapStep = <T, R>(
  host: StepHost,
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
  options: StepMapOptions = {},
): Promise<R[]> => {
  if (!Array.isArray(items)) return Promise.reject(new InvalidArgumentError('step.map needs an array of items'))
  if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError('step.map needs a function (item, index) => Promise'))
  const limit = options.concurrency ?? DEFAULT_CONCURRENCY
  if (!Number.isInteger(limit) || limit < 1)
    return Promise.reject(new InvalidArgumentError(`step.map concurrency must be an integer >= 1, got ${String(limit)}`))
  const base = host.nextStepId(options.id ?? 'map')
  const results = new Array<R>(items.length)
  return new Promise<R[]>((resolve, reject) => {
    if (items.length === 0) return resolve(results)
    let next = 0
    let running = 0
    let failure: { error: unknown } | undefined
    const finish = () => {
      running--
      if (!failure && next < items.length) startOne()
      else if (running === 0) failure ? reject(failure.error) : resolve(results)
    }
    const startOne = () => {
      const i = next++
      running++
      let p: Promise<R>
      try {
        p = scope.run({ host, prefix: `${base}[${i}]/` }, () => Promise.resolve(fn(items[i] as T, i)))
      } catch (error) {
        p = Promise.reject(error)
      }
      p.then(
        (value) => {
          results[i] = value
          finish()
        },
        (error) => {
          failure ??= { error }
          finish()
        },
      )
    }
    while (running < limit && next < items.length) startOne()
  })
}
