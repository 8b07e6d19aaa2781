import type { ActionInterceptor, StepInterceptor } from '@do-sdk/core'
import { context, type Tracer, trace } from '@opentelemetry/api'
import { ATTR } from './attributes.js'
import { markError, type RunSpans, runAttributes, stepAttributes } from './run-spans.js'

/**
 * Opens the span of an action or fn step around its attempt and makes it active for the work inside.
 * The span stays open after the attempt: the step's complete, fail or retry event (or the end of
 * the pass) ends it, so inline retries of one step share one span, with a retry event per failure.
 */
export const wrapStep =
  (spans: RunSpans, tracer: Tracer): StepInterceptor =>
  (c, next) => {
    const pass = spans.get(c.runId)
    if (!pass) return next()
    let step = pass.steps.get(c.stepId)
    if (step) {
      step.retrying = false
      if (c.attempt !== undefined) step.span.setAttribute(ATTR.ATTEMPT, c.attempt)
    } else {
      step = { span: tracer.startSpan(`step ${c.stepId}`, { attributes: stepAttributes(c.runId, pass, c) }, pass.ctx) }
      pass.steps.set(c.stepId, step)
    }
    return context.with(trace.setSpan(context.active(), step.span), next)
  }

/** One span per action attempt, child of its step's span, active while the action runs. */
export const wrapAction =
  (spans: RunSpans, tracer: Tracer): ActionInterceptor =>
  async (c, next) => {
    const pass = spans.get(c.runId)
    if (!pass) return next()
    const step = pass.steps.get(c.stepId)
    const parent = step ? trace.setSpan(pass.ctx, step.span) : pass.ctx
    const span = tracer.startSpan(
      `action ${c.action.id}`,
      {
        attributes: {
          ...runAttributes(c.runId, pass),
          [ATTR.STEP_ID]: c.stepId,
          [ATTR.STEP_KIND]: 'action',
          [ATTR.ACTION_ID]: c.action.id,
          [ATTR.ATTEMPT]: c.attempt,
          [ATTR.REPLAYED]: false,
          [ATTR.IDEMPOTENCY_KEY]: c.idempotencyKey,
        },
      },
      parent,
    )
    try {
      const output = await context.with(trace.setSpan(context.active(), span), () => next())
      span.setAttribute(ATTR.STATUS, 'completed')
      return output
    } catch (error) {
      span.setAttribute(ATTR.STATUS, 'failed')
      markError(span, error instanceof Error ? error : new Error(String(error)))
      throw error
    } finally {
      span.end()
    }
  }
