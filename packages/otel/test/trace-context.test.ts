import { workflow } from '@do-sdk/core'
import { createTestEngine, type TestEngine } from '@do-sdk/core/testing'
import type { Span } from '@opentelemetry/api'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { otelPlugin, type TraceCarrier, traceCarrier } from '../src/index.js'
import { onboarding } from './fixtures.js'
import { appTracer, exporter, finished, isChildOf, one, provider } from './otel-sdk.js'

beforeEach(() => exporter.reset())
let engine: TestEngine | undefined
afterEach(async () => {
  await engine?.stop()
  engine = undefined
})

/** Runs `fn` inside an active "request" span, as an HTTP handler would, and ends the span. */
const inRequest = <T>(fn: (span: Span) => Promise<T>): Promise<T> =>
  appTracer.startActiveSpan('POST /signup', async (span) => {
    try {
      return await fn(span)
    } finally {
      span.end()
    }
  })

describe('parenting a run on the code that triggers it', () => {
  it('otel.trigger: the run’s first pass is a child of the active span, in the same trace', async () => {
    const otel = otelPlugin({ tracerProvider: provider })
    engine = createTestEngine({ workflows: [onboarding], plugins: [otel] })
    await engine.start()
    const e = engine
    const run = await inRequest(() => otel.trigger(e, onboarding, { userId: 'usr_1' }))
    await engine.settle()
    expect(run.id).toMatch(/^onboarding:[0-9a-f-]{36}$/)
    const spans = await finished()
    const request = one(spans, 'POST /signup')
    const pass = one(spans, 'workflow onboarding')
    expect(isChildOf(pass, request)).toBe(true)
    for (const s of spans) expect(s.spanContext().traceId).toBe(request.spanContext().traceId)
  })

  it('otel.trigger keeps a given run id, and works before engine.start()', async () => {
    const otel = otelPlugin({ tracerProvider: provider })
    engine = createTestEngine({ workflows: [onboarding], plugins: [otel] })
    const e = engine
    const run = await inRequest(() => otel.trigger(e, onboarding, { userId: 'usr_2' }, { id: 'onboarding:usr_2' }))
    expect(run.id).toBe('onboarding:usr_2')
    await engine.start()
    await engine.settle()
    const spans = await finished()
    expect(isChildOf(one(spans, 'workflow onboarding'), one(spans, 'POST /signup'))).toBe(true)
  })

  it('a plain engine.trigger is not parented on whatever span happens to be active', async () => {
    engine = createTestEngine({ workflows: [onboarding], plugins: [otelPlugin({ tracerProvider: provider })] })
    await engine.start()
    const e = engine
    await inRequest(() => e.trigger(onboarding, { userId: 'usr_3' }))
    await engine.settle()
    const spans = await finished()
    const pass = one(spans, 'workflow onboarding')
    expect(pass.parentSpanContext).toBeUndefined()
    expect(pass.spanContext().traceId).not.toBe(one(spans, 'POST /signup').spanContext().traceId)
  })

  it('traceCarrier in the input + parentFromInput parents the run, wherever it starts', async () => {
    const signup = workflow.create({
      id: 'signup',
      input: z.object({ email: z.string(), trace: z.record(z.string(), z.string()).optional() }),
      run: ({ step }) => step.run('create-user', () => 'usr_9'),
    })
    const otel = otelPlugin({ tracerProvider: provider, parentFromInput: (input) => (input as { trace?: TraceCarrier }).trace })
    engine = createTestEngine({ workflows: [signup], plugins: [otel] })
    await engine.start()
    const e = engine
    const carrier = await inRequest(async () => {
      const trace = traceCarrier()
      await e.trigger(signup, { email: 'jane@example.com', trace })
      return trace
    })
    await engine.settle()
    expect(carrier?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    const spans = await finished()
    expect(isChildOf(one(spans, 'workflow signup'), one(spans, 'POST /signup'))).toBe(true)
  })

  it('traceCarrier() is undefined when no span is active', () => {
    expect(traceCarrier()).toBeUndefined()
  })
})

describe('parentFromInput that throws', () => {
  it('costs only the parent: the run is still traced, as a root span', async () => {
    const otel = otelPlugin({
      tracerProvider: provider,
      parentFromInput: () => {
        throw new Error('no carrier here')
      },
    })
    engine = createTestEngine({ workflows: [onboarding], plugins: [otel] })
    await engine.start()
    await engine.trigger(onboarding, { userId: 'usr_4' })
    await engine.settle()
    const spans = await finished()
    expect(one(spans, 'workflow onboarding').parentSpanContext).toBeUndefined()
    expect(one(spans, 'step profile.fetch#1').ended).toBe(true)
  })
})
