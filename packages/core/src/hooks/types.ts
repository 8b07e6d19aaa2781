import type { Action } from '../action.js'
import type { RunStatus, StepKind } from '../engine/records.js'

/** Fields every run-level event carries. Events are read-only snapshots. */
export interface RunEventBase {
  readonly runId: string
  readonly workflowId: string
  readonly version: string
  /** Unix ms when the event happened (engine clock). */
  readonly at: number
}

/** Fields every step-level event carries. */
export interface StepEventBase extends RunEventBase {
  readonly stepId: string
  readonly kind: StepKind
  /** True when the step's result came from the journal (replay), not from running it. */
  readonly replayed: boolean
  /** Attempt number (action and fn steps). */
  readonly attempt?: number
}

/** The typed map of lifecycle events: name → payload. */
export interface HookEvents {
  'workflow:start': RunEventBase & {
    readonly input: unknown /** Set for a child run started by `step.invoke`. */
    readonly parent?: { readonly runId: string; readonly stepId: string }
  }
  'workflow:resume': RunEventBase & { readonly steps: number; readonly atStep?: string }
  'workflow:suspend': RunEventBase & { readonly status: RunStatus; readonly wakeAt?: number; readonly waitingFor?: readonly string[] }
  'workflow:complete': RunEventBase & { readonly output: unknown; readonly durationMs: number }
  'workflow:fail': RunEventBase & { readonly error: Error }
  'workflow:cancel': RunEventBase & { readonly reason?: string }
  'step:start': StepEventBase
  'step:complete': StepEventBase & { readonly output: unknown; readonly durationMs: number }
  'step:fail': StepEventBase & { readonly error: Error; readonly durationMs: number }
  'step:retry': StepEventBase & { readonly error: Error; readonly nextAttemptAt: number; readonly delayMs: number }
  'action:start': StepEventBase & { readonly actionId: string; readonly input: unknown; readonly idempotencyKey: string }
  'action:complete': StepEventBase & { readonly actionId: string; readonly output: unknown; readonly durationMs: number }
  'action:fail': StepEventBase & { readonly actionId: string; readonly error: Error; readonly durationMs: number }
  'state:change': RunEventBase & { readonly stepId: string; readonly state: unknown; readonly previous: unknown }
  'signal:receive': RunEventBase & { readonly name: string; readonly payload: unknown; readonly sentAt: number }
  'timer:fire': RunEventBase & { readonly scheduledAt: number; readonly lateMs: number }
  /**
   * A schedule's tick was handled by this engine: a run started (`runId`), or the tick was let go
   * (`skipped`: the last run was still going, the tick was missed during downtime, the rate limit
   * dropped it) or kept for later (`buffered`).
   */
  'schedule:tick': {
    readonly scheduleId: string
    readonly workflowId: string
    /** The tick's time (Unix ms). */
    readonly tickAt: number
    /** When it was handled (Unix ms, engine clock). */
    readonly at: number
    readonly runId?: string
    readonly skipped?: 'overlap' | 'catchup' | 'rate-limit'
    readonly buffered?: true
  }
  /** Flow control holds a run back: a throttle, a debounce, or every slot of a concurrency key taken. */
  'flow:delayed': RunEventBase & {
    readonly reason: 'concurrency' | 'throttle' | 'debounce'
    readonly key: string
    /** When it starts, or is looked at again (Unix ms). */
    readonly until: number
  }
  /** A trigger (or a schedule's tick) was dropped by a rate limit: no run was created. */
  'flow:dropped': {
    readonly workflowId: string
    /** The id the run would have had. */
    readonly runId: string
    readonly reason: 'rate-limit'
    readonly key: string
    /** When a run of this key would be admitted (Unix ms). */
    readonly retryAt: number
    readonly at: number
  }
  /** An observer threw, a late commit was refused, a store call failed… Never breaks a run. */
  error: { readonly source: string; readonly error: Error; readonly runId?: string }
}

export type HookName = keyof HookEvents
export type Observer<N extends HookName> = (event: HookEvents[N]) => void | Promise<void>

/** Context of an action interceptor: one attempt of an action inside a run. */
export interface ActionInterceptorContext {
  readonly runId: string
  readonly workflowId: string
  readonly stepId: string
  readonly action: Action
  readonly attempt: number
  readonly idempotencyKey: string
  /** The input the action will get; `next(newInput)` replaces it. */
  readonly input: unknown
}

/** Context of a step interceptor: one execution of a step (not called for replayed steps: their result is fixed). */
export interface StepInterceptorContext {
  readonly runId: string
  readonly workflowId: string
  readonly stepId: string
  readonly kind: StepKind
  readonly attempt?: number
  readonly input?: unknown
}

/**
 * Wrap middleware: first registered is outermost. Return a value to short-circuit without `next()`,
 * throw to veto, call `next(input?)` once to go on (a second call throws a HookError).
 */
export type ActionInterceptor = (ctx: ActionInterceptorContext, next: (input?: unknown) => Promise<unknown>) => Promise<unknown>
export type StepInterceptor = (ctx: StepInterceptorContext, next: () => Promise<unknown>) => Promise<unknown>

export interface Interceptors {
  action: ActionInterceptor
  step: StepInterceptor
}

/** Registration surface for observers and interceptors. */
export interface HookRegistry {
  /** Observes a lifecycle event; returns a function that unregisters the observer. */
  on<N extends HookName>(name: N, fn: Observer<N>): () => void
  /** Registers wrap middleware around every action attempt (`'action'`) or every executed step (`'step'`). */
  wrap<K extends keyof Interceptors>(kind: K, fn: Interceptors[K]): () => void
}
