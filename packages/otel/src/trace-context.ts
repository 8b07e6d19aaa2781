import { type Context, context, isSpanContextValid, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'

/** A trace context in text form (`traceparent`, `tracestate` with the W3C propagator), as stored in a run's input. */
export type TraceCarrier = Record<string, string>

/**
 * The active trace context as a carrier, written by the globally registered propagator (the OTel
 * Node SDK registers W3C Trace Context by default). Put it in a run's input when the run may start in
 * another process, and give the plugin `parentFromInput` to read it back. Returns `undefined` when no
 * span is active or no propagator is registered.
 *
 * @example
 * ```ts
 * await engine.trigger(onboarding, { userId, trace: traceCarrier() })
 * // otelPlugin({ parentFromInput: (input) => (input as { trace?: TraceCarrier }).trace })
 * ```
 */
export const traceCarrier = (ctx: Context = context.active()): TraceCarrier | undefined => {
  const span = trace.getSpanContext(ctx)
  if (!span || !isSpanContextValid(span)) return undefined
  const carrier: TraceCarrier = {}
  propagation.inject(ctx, carrier)
  return Object.keys(carrier).length > 0 ? carrier : undefined
}

/** The context a carrier describes, or `undefined` when it holds no valid span context. */
export const contextFromCarrier = (carrier: unknown): Context | undefined => {
  if (typeof carrier !== 'object' || carrier === null) return undefined
  const ctx = propagation.extract(ROOT_CONTEXT, carrier as TraceCarrier)
  const span = trace.getSpanContext(ctx)
  return span && isSpanContextValid(span) ? ctx : undefined
}

/**
 * A Map that forgets its oldest entries past `limit`: per-run bookkeeping for runs whose end this
 * process may never see (a run finished by another engine, a trigger of an existing run id).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super()
  }

  override set(key: K, value: V): this {
    this.delete(key)
    super.set(key, value)
    if (this.size > this.limit) this.delete(this.keys().next().value as K)
    return this
  }
}
