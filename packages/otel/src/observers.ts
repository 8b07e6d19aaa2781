import type { HookEvents, HookRegistry, StepEventBase } from '@do-sdk/core'
import type { Context } from '@opentelemetry/api'
import { ATTR, EVENT } from './attributes.js'
import { markError, type RunSpans, stepAttributes } from './run-spans.js'

/** Run-level events: open a pass span at start/resume, end it at suspend/complete/fail/cancel or when the pass is dropped. */
export const observeRuns = (hooks: HookRegistry, spans: RunSpans, firstParent: (runId: string, input: unknown) => Context | undefined) => {
  hooks.on('workflow:start', (e) => {
    spans.open(e, 'start', firstParent(e.runId, e.input))
  })
  hooks.on('workflow:resume', (e) => {
    spans.open(e, 'resume', undefined, { [ATTR.JOURNAL_STEPS]: e.steps })
  })
  hooks.on('workflow:suspend', (e) => {
    const attributes = {
      ...(e.wakeAt === undefined ? {} : { [ATTR.WAKE_AT]: e.wakeAt }),
      ...(e.waitingFor?.length ? { [ATTR.WAITING_FOR]: e.waitingFor.join(',') } : {}),
    }
    spans.close(e.runId, e.status, { attributes })
  })
  hooks.on('workflow:complete', (e) => {
    spans.close(e.runId, 'completed', { terminal: true })
  })
  hooks.on('workflow:fail', (e) => {
    spans.close(e.runId, 'failed', { terminal: true, error: e.error })
  })
  hooks.on('workflow:cancel', (e) => {
    // A run cancelled while suspended is cancelled at the top of a pass that emits no start/resume.
    if (!spans.get(e.runId)) spans.open(e, 'resume', undefined)
    spans.close(e.runId, 'cancelled', { terminal: true })
  })
  hooks.on('error', (e) => {
    // The execution was dropped without writing (lease lost, store down, engine stopped): another pass resumes it.
    if (e.source === 'execution' && e.runId !== undefined) spans.close(e.runId, 'abandoned', { error: e.error })
  })
  hooks.on('signal:receive', (e) => {
    spans.get(e.runId)?.span.addEvent(EVENT.SIGNAL_RECEIVE, { [ATTR.SIGNAL_NAME]: e.name })
  })
  hooks.on('timer:fire', (e) => {
    spans.get(e.runId)?.span.addEvent(EVENT.TIMER_FIRE, { [ATTR.WAKE_AT]: e.scheduledAt, [ATTR.LATE_MS]: e.lateMs })
  })
}

/** A replayed step: an event on the pass span, or a span marked `do.replayed` when asked for. */
const replayed = (spans: RunSpans, e: StepEventBase, recordSpans: boolean, error?: Error) => {
  const status = error ? 'failed' : 'completed'
  if (recordSpans) {
    const span = spans.startStep(e, { [ATTR.STATUS]: status })
    if (span && error) markError(span, error)
    span?.end()
    return
  }
  spans.get(e.runId)?.span.addEvent(EVENT.STEP_REPLAYED, { [ATTR.STEP_ID]: e.stepId, [ATTR.STEP_KIND]: e.kind, [ATTR.STATUS]: status })
}

/** Ends a step's span: the one its interceptor opened, or a new one for steps no interceptor wraps (sleep, wait, setState…). */
const endStep = (spans: RunSpans, e: HookEvents['step:complete'] | HookEvents['step:fail'], error?: Error) => {
  const span = spans.takeStep(e.runId, e.stepId) ?? spans.startStep(e)
  if (!span) return
  span.setAttribute(ATTR.STATUS, error ? 'failed' : 'completed')
  if (error) markError(span, error)
  span.end()
}

/** Step-level events: end step spans, record retries as span events, replays as events or spans. */
export const observeSteps = (hooks: HookRegistry, spans: RunSpans, recordReplayedSteps: boolean) => {
  hooks.on('step:complete', (e) => {
    if (e.replayed) replayed(spans, e, recordReplayedSteps)
    else endStep(spans, e)
  })
  hooks.on('step:fail', (e) => {
    if (e.replayed) replayed(spans, e, recordReplayedSteps, e.error)
    else endStep(spans, e, e.error)
  })
  hooks.on('step:retry', (e) => {
    const pass = spans.get(e.runId)
    const step = pass?.steps.get(e.stepId)
    if (step) step.retrying = true
    ;(step?.span ?? pass?.span)?.addEvent(EVENT.STEP_RETRY, {
      ...(pass ? stepAttributes(e.runId, pass, e) : {}),
      [ATTR.DELAY_MS]: e.delayMs,
      [ATTR.WAKE_AT]: e.nextAttemptAt,
      'exception.type': e.error.name,
      'exception.message': e.error.message,
    })
  })
}
