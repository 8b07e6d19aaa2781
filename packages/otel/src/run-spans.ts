import type { RunEventBase, StepEventBase } from '@do-sdk/core'
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { ATTR } from './attributes.js'
import { BoundedMap } from './trace-context.js'

/** Runs remembered for parenting and links; older entries are dropped first. */
export const REMEMBERED_RUNS = 10_000

/** An executed step's span, open from its first attempt until it commits, fails, or the pass ends. */
export interface OpenStep {
  span: Span
  /** Set when the last attempt failed and will be retried. */
  retrying?: boolean
}

/** One execution pass of a run in this process: the `workflow <id>` span and its open step spans. */
export interface RunPass {
  span: Span
  /** The parent context with the pass span set: the parent of every step span of the pass. */
  ctx: Context
  workflowId: string
  version: string
  steps: Map<string, OpenStep>
}

/** Marks a span failed: ERROR status with the message, and the error recorded as an exception event. */
export const markError = (span: Span, error: Error) => {
  span.recordException(error)
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
}

/** Attributes every span of a run carries. */
export const runAttributes = (runId: string, pass: Pick<RunPass, 'workflowId' | 'version'>): Attributes => ({
  [ATTR.RUN_ID]: runId,
  [ATTR.WORKFLOW_ID]: pass.workflowId,
  [ATTR.WORKFLOW_VERSION]: pass.version,
})

/**
 * The span bookkeeping of one plugin instance: open run passes by run id, the parents recorded by
 * `otel.trigger`, and the first pass of each run (resumed passes link to it).
 */
export class RunSpans {
  private readonly passes = new Map<string, RunPass>()
  private readonly firstPass = new BoundedMap<string, SpanContext>(REMEMBERED_RUNS)

  /** `parents`: contexts recorded by `otel.trigger`, by run id, forgotten once the run resumes or ends. */
  constructor(
    private readonly tracer: Tracer,
    private readonly parents: Map<string, Context>,
  ) {}

  get(runId: string): RunPass | undefined {
    return this.passes.get(runId)
  }

  /**
   * Opens the span of a new pass. A first pass is the child of `parent`; a resumed pass is a root
   * span linked to the run's first pass (a run may sleep for days: one trace per pass stays readable).
   */
  open(e: RunEventBase, kind: 'start' | 'resume', parent: Context | undefined, attributes: Attributes = {}): RunPass {
    this.close(e.runId, 'interrupted')
    const first = kind === 'resume' ? this.firstPass.get(e.runId) : undefined
    const links: Link[] = first ? [{ context: first }] : []
    const base = parent ?? ROOT_CONTEXT
    const span = this.tracer.startSpan(
      `workflow ${e.workflowId}`,
      {
        attributes: { ...runAttributes(e.runId, { workflowId: e.workflowId, version: e.version }), [ATTR.PASS]: kind, ...attributes },
        links,
      },
      base,
    )
    if (kind === 'start') this.firstPass.set(e.runId, span.spanContext())
    else this.parents.delete(e.runId)
    const pass: RunPass = { span, ctx: trace.setSpan(base, span), workflowId: e.workflowId, version: e.version, steps: new Map() }
    this.passes.set(e.runId, pass)
    return pass
  }

  /**
   * Ends the pass span (and any step span still open) with `status`; `error` marks it failed.
   * A terminal status also forgets the run. Returns false when no pass was open.
   */
  close(runId: string, status: string, options: { error?: Error; terminal?: boolean; attributes?: Attributes } = {}): boolean {
    if (options.terminal) {
      this.parents.delete(runId)
      this.firstPass.delete(runId)
    }
    const pass = this.passes.get(runId)
    if (!pass) return false
    this.passes.delete(runId)
    for (const step of pass.steps.values()) {
      step.span.setAttribute(ATTR.STATUS, step.retrying ? 'retrying' : status === 'cancelled' ? 'cancelled' : 'interrupted')
      step.span.end()
    }
    pass.span.setAttributes({ [ATTR.STATUS]: status, ...options.attributes })
    if (options.error) markError(pass.span, options.error)
    pass.span.end()
    return true
  }

  /** Takes the open span of a step out of its pass (the caller ends it). */
  takeStep(runId: string, stepId: string): Span | undefined {
    const pass = this.passes.get(runId)
    const step = pass?.steps.get(stepId)
    if (!pass || !step) return undefined
    pass.steps.delete(stepId)
    return step.span
  }

  /** Starts the span of one step in the run's open pass (the caller ends it); undefined when no pass is open. */
  startStep(e: StepEventBase, extra: Attributes = {}): Span | undefined {
    const pass = this.passes.get(e.runId)
    if (!pass) return undefined
    return this.tracer.startSpan(`step ${e.stepId}`, { attributes: { ...stepAttributes(e.runId, pass, e), ...extra } }, pass.ctx)
  }
}

/** Attributes of a step span. */
export const stepAttributes = (
  runId: string,
  pass: Pick<RunPass, 'workflowId' | 'version'>,
  step: { stepId: string; kind: string; attempt?: number; replayed?: boolean },
): Attributes => ({
  ...runAttributes(runId, pass),
  [ATTR.STEP_ID]: step.stepId,
  [ATTR.STEP_KIND]: step.kind,
  [ATTR.REPLAYED]: step.replayed ?? false,
  ...(step.attempt === undefined ? {} : { [ATTR.ATTEMPT]: step.attempt }),
})
