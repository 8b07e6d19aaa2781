import { randomUUID } from 'node:crypto'
import {
  definePlugin,
  type Engine,
  InvalidArgumentError,
  type Plugin,
  type PluginContext,
  type RunHandle,
  type TriggerOptions,
  type Workflow,
  type WorkflowInput,
  type WorkflowOutput,
} from '@do-sdk/core'
import { type Context, context, type Tracer, type TracerProvider, trace } from '@opentelemetry/api'
import { wrapAction, wrapStep } from './interceptors.js'
import { observeRuns, observeSteps } from './observers.js'
import { REMEMBERED_RUNS, RunSpans } from './run-spans.js'
import { BoundedMap, contextFromCarrier, type TraceCarrier } from './trace-context.js'

/** Options of {@link otelPlugin}. */
export interface OtelPluginOptions {
  /** Tracer to create spans with. @default `tracerProvider.getTracer('@do-sdk/otel')` */
  tracer?: Tracer
  /** Provider to take the tracer from (ignored when `tracer` is given). @default the global provider */
  tracerProvider?: TracerProvider
  /**
   * Record steps whose result came from the journal as spans (`do.replayed = true`). By default a
   * replayed step is only an event (`do.step.replayed`) on the pass span: a run resumed after 50
   * steps would otherwise repeat 50 empty spans on every pass.
   * @default false
   */
  recordReplayedSteps?: boolean
  /**
   * Reads a trace carrier (see `traceCarrier()`) from a run's input, to parent the run's first pass
   * on a trace started where the run was triggered, in this process or another.
   */
  parentFromInput?: (input: unknown) => TraceCarrier | undefined
}

/** The OTel plugin: a do-sdk plugin, plus a traced `trigger`. */
export interface OtelPlugin extends Plugin {
  /**
   * `engine.trigger(wf, input, options)`, recording the active context so the run's first execution
   * span is its child (the engine has no trigger hook). Without `options.id`, the run id is chosen
   * here, in the engine's default format `<workflowId>:<uuid>`.
   */
  trigger<W extends Workflow>(
    engine: Pick<Engine, 'trigger'>,
    wf: W,
    input: WorkflowInput<W>,
    options?: TriggerOptions,
  ): Promise<RunHandle<WorkflowOutput<W>>>
}

const NAME = '@do-sdk/otel'

const resolveTracer = (options: OtelPluginOptions): Tracer =>
  options.tracer ?? (options.tracerProvider ?? trace.getTracerProvider()).getTracer(NAME)

const checkOptions = (options: OtelPluginOptions) => {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('[otel] otelPlugin(options) needs an object')
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function') {
    throw new InvalidArgumentError('[otel] Invalid option "tracer": expected an OpenTelemetry Tracer')
  }
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function') {
    throw new InvalidArgumentError('[otel] Invalid option "tracerProvider": expected an OpenTelemetry TracerProvider')
  }
  if (options.parentFromInput !== undefined && typeof options.parentFromInput !== 'function') {
    throw new InvalidArgumentError('[otel] Invalid option "parentFromInput": expected a function (input) => carrier')
  }
}

/**
 * OpenTelemetry spans for do-sdk: one `workflow <id>` span per execution pass of a run (start or
 * resume until suspend, complete, fail or cancel), a `step <stepId>` child per executed step, and an
 * `action <actionId>` child of the step per action attempt. Action code runs with its action span
 * active, so spans of its own calls (HTTP, database) nest under it.
 *
 * @example
 * ```ts
 * import { otelPlugin } from '@do-sdk/otel'
 *
 * const otel = otelPlugin()
 * const engine = createEngine({ store, workflows: [onboarding], plugins: [otel] })
 * await engine.start()
 * // inside a request handler: the run's first span becomes a child of the request span
 * const run = await otel.trigger(engine, onboarding, { userId: 'usr_1' })
 * ```
 */
export const otelPlugin = (options: OtelPluginOptions = {}): OtelPlugin => {
  checkOptions(options)
  // Parent contexts recorded by `trigger`, by run id, until the run resumes or ends.
  const parents = new BoundedMap<string, Context>(REMEMBERED_RUNS)
  const plugin = definePlugin({
    name: NAME,
    setup(ctx: PluginContext) {
      const tracer = resolveTracer(options)
      const runSpans = new RunSpans(tracer, parents)
      const fromInput = (input: unknown): Context | undefined => {
        try {
          return options.parentFromInput ? contextFromCarrier(options.parentFromInput(input)) : undefined
        } catch (error) {
          // A bad carrier costs the link to the caller's trace, never the run's own spans.
          ctx.log.warn(`[otel] parentFromInput threw: ${error instanceof Error ? error.message : String(error)}`)
          return undefined
        }
      }
      const firstParent = (runId: string, input: unknown): Context | undefined => parents.get(runId) ?? fromInput(input)
      observeRuns(ctx, runSpans, firstParent)
      observeSteps(ctx, runSpans, options.recordReplayedSteps ?? false)
      ctx.wrap('step', wrapStep(runSpans, tracer))
      ctx.wrap('action', wrapAction(runSpans, tracer))
    },
  })
  return {
    ...plugin,
    async trigger(engine, wf, input, triggerOptions = {}) {
      const id = triggerOptions.id ?? `${wf.id}:${randomUUID()}`
      parents.set(id, context.active())
      try {
        return await engine.trigger(wf, input, { ...triggerOptions, id })
      } catch (error) {
        parents.delete(id)
        throw error
      }
    },
  }
}
