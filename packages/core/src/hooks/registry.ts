import { HookError, toError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { HookEvents, HookName, HookRegistry, Interceptors, Observer } from './types.js'

export const HOOK_NAMES: readonly HookName[] = [
  'workflow:start',
  'workflow:resume',
  'workflow:suspend',
  'workflow:complete',
  'workflow:fail',
  'workflow:cancel',
  'step:start',
  'step:complete',
  'step:fail',
  'step:retry',
  'action:start',
  'action:complete',
  'action:fail',
  'state:change',
  'signal:receive',
  'timer:fire',
  'schedule:tick',
  'flow:delayed',
  'flow:dropped',
  'error',
]
const KNOWN = new Set<string>(HOOK_NAMES)
const SLOW_OBSERVER_MS = 5_000

/** Composes wrap middleware, first registered outermost; `next()` may be called once. */
export const compose = <C, R>(
  chain: readonly ((ctx: C, next: (arg?: unknown) => Promise<R>) => Promise<R>)[],
  ctx: C,
  last: (arg?: unknown) => Promise<R>,
  initial?: unknown,
): Promise<R> => {
  const dispatch = (i: number, arg: unknown): Promise<R> => {
    if (i === chain.length) return last(arg)
    let called = false
    const next = (nextArg?: unknown) => {
      if (called) return Promise.reject(new HookError(`Interceptor #${i + 1} called next() twice`))
      called = true
      return dispatch(i + 1, nextArg === undefined ? arg : nextArg)
    }
    return Promise.resolve().then(() => (chain[i] as (ctx: C, next: (arg?: unknown) => Promise<R>) => Promise<R>)(ctx, next))
  }
  return dispatch(0, initial)
}

/** The engine's hooks: observers by name, interceptors by kind. */
export class Hooks implements HookRegistry {
  private readonly observers = new Map<HookName, Observer<any>[]>()
  readonly interceptors: { action: Interceptors['action'][]; step: Interceptors['step'][] } = { action: [], step: [] }
  private closed = false

  constructor(private readonly log: Logger) {}

  on<N extends HookName>(name: N, fn: Observer<N>): () => void {
    if (!KNOWN.has(name)) throw new HookError(`Unknown hook "${String(name)}". Known hooks: ${HOOK_NAMES.join(', ')}`)
    if (typeof fn !== 'function') throw new HookError(`Observer for "${name}" must be a function`)
    const list = [...(this.observers.get(name) ?? []), fn]
    this.observers.set(name, list)
    return () => {
      const now = this.observers.get(name) ?? []
      const next = now.filter((f) => f !== fn)
      if (next.length) this.observers.set(name, next)
      else this.observers.delete(name)
    }
  }

  wrap<K extends keyof Interceptors>(kind: K, fn: Interceptors[K]): () => void {
    if (kind !== 'action' && kind !== 'step') throw new HookError(`Unknown interceptor kind "${String(kind)}" (use "action" or "step")`)
    if (typeof fn !== 'function') throw new HookError(`Interceptor for "${kind}" must be a function`)
    if (this.closed) throw new HookError('Interceptors must be registered before engine.start()')
    ;(this.interceptors[kind] as Interceptors[K][]).push(fn)
    return () => {
      const list = this.interceptors[kind] as Interceptors[K][]
      const i = list.indexOf(fn)
      if (i >= 0) list.splice(i, 1)
    }
  }

  close() {
    this.closed = true
  }

  /** True when someone observes `name`: callers skip building the payload otherwise (no allocation). */
  has(name: HookName): boolean {
    return this.observers.has(name)
  }

  /** Calls the observers of `name`; a throwing or rejecting observer is reported, never propagated, never awaited. */
  emit<N extends HookName>(name: N, event: HookEvents[N]): void {
    const list = this.observers.get(name)
    if (!list) return
    const frozen = Object.freeze(event)
    for (const fn of list) {
      try {
        const r = fn(frozen) as unknown
        if (r && typeof (r as Promise<void>).then === 'function') {
          // Never awaited, so it cannot stall a run; a slow one is still reported.
          const timer = setTimeout(
            () => this.report(name, new HookError(`Observer of "${name}" is still running after ${SLOW_OBSERVER_MS} ms`)),
            SLOW_OBSERVER_MS,
          )
          timer.unref?.()
          ;(r as Promise<void>).then(
            () => clearTimeout(timer),
            (e) => {
              clearTimeout(timer)
              this.report(name, e)
            },
          )
        }
      } catch (e) {
        this.report(name, e)
      }
    }
  }

  private report(name: HookName, error: unknown) {
    const err = toError(error)
    this.log.error(`Observer of "${name}" threw: ${err.message}`, { hook: name })
    if (name !== 'error') this.emit('error', { source: `observer:${name}`, error: err })
  }
}
