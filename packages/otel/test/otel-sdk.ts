import { context, propagation, type SpanContext, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'

// A real SDK, as an app would set it up: async-hooks context, W3C propagation, spans kept in memory.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())

export const exporter = new InMemorySpanExporter()
export const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
trace.setGlobalTracerProvider(provider)

/** The tracer "application code" (an action's own HTTP client, a request handler) would use. */
export const appTracer = provider.getTracer('app')

/** Every finished span so far. */
export const finished = async (): Promise<ReadableSpan[]> => {
  await provider.forceFlush()
  return exporter.getFinishedSpans()
}

/** The only finished span named `name`; throws when there are none or several. */
export const one = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.filter((s) => s.name === name)
  if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length}: ${spans.map((s) => s.name).join(', ')}`)
  return found[0] as ReadableSpan
}

export const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name)

/** True when `child`'s parent is `parent` (same trace, parent span id). */
export const isChildOf = (child: ReadableSpan, parent: ReadableSpan | SpanContext): boolean => {
  const p = 'spanContext' in parent && typeof parent.spanContext === 'function' ? parent.spanContext() : (parent as SpanContext)
  return child.parentSpanContext?.spanId === p.spanId && child.spanContext().traceId === p.traceId
}
