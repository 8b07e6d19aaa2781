import { workflow } from '@do-sdk/core'
import { createTestEngine } from '@do-sdk/core/testing'
import { SpanStatusCode } from '@opentelemetry/api'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ATTR, otelPlugin } from '../src/index.js'
import { onboarding } from './fixtures.js'
import { appTracer, exporter, finished, isChildOf, one, provider } from './otel-sdk.js'

beforeEach(() => exporter.reset())

describe('otelPlugin spans', () => {
  let stop: (() => Promise<void>) | undefined
  afterEach(async () => {
    await stop?.()
    stop = undefined
  })

  const runOnboarding = async () => {
    const engine = createTestEngine({ workflows: [onboarding], plugins: [otelPlugin({ tracerProvider: provider })] })
    stop = () => engine.stop()
    await engine.start()
    const run = await engine.trigger(onboarding, { userId: 'usr_1' }, { id: 'onboarding:usr_1' })
    await engine.settle()
    await expect(run.result()).resolves.toBe('hello Jane')
    return finished()
  }

  it('nests run → step → action → the action’s own calls', async () => {
    const spans = await runOnboarding()
    const run = one(spans, 'workflow onboarding')
    const step = one(spans, 'step profile.fetch#1')
    const action = one(spans, 'action profile.fetch')
    const call = one(spans, 'GET /profiles/:id')
    expect(run.parentSpanContext).toBeUndefined()
    expect(isChildOf(step, run)).toBe(true)
    expect(isChildOf(action, step)).toBe(true)
    expect(isChildOf(call, action)).toBe(true)
    expect(isChildOf(one(spans, 'step compose-greeting#1'), run)).toBe(true)
    expect(isChildOf(one(spans, 'step now#1'), run)).toBe(true)
  })

  it('sets run, step and action attributes', async () => {
    const spans = await runOnboarding()
    expect(one(spans, 'workflow onboarding').attributes).toMatchObject({
      [ATTR.RUN_ID]: 'onboarding:usr_1',
      [ATTR.WORKFLOW_ID]: 'onboarding',
      [ATTR.WORKFLOW_VERSION]: '3',
      [ATTR.PASS]: 'start',
      [ATTR.STATUS]: 'completed',
    })
    expect(one(spans, 'step profile.fetch#1').attributes).toMatchObject({
      [ATTR.RUN_ID]: 'onboarding:usr_1',
      [ATTR.WORKFLOW_ID]: 'onboarding',
      [ATTR.WORKFLOW_VERSION]: '3',
      [ATTR.STEP_ID]: 'profile.fetch#1',
      [ATTR.STEP_KIND]: 'action',
      [ATTR.ATTEMPT]: 1,
      [ATTR.REPLAYED]: false,
      [ATTR.STATUS]: 'completed',
    })
    expect(one(spans, 'action profile.fetch').attributes).toMatchObject({
      [ATTR.ACTION_ID]: 'profile.fetch',
      [ATTR.STEP_ID]: 'profile.fetch#1',
      [ATTR.ATTEMPT]: 1,
      [ATTR.IDEMPOTENCY_KEY]: 'onboarding:usr_1:profile.fetch#1',
      [ATTR.STATUS]: 'completed',
    })
    expect(one(spans, 'step compose-greeting#1').attributes).toMatchObject({ [ATTR.STEP_KIND]: 'fn', [ATTR.STATUS]: 'completed' })
    expect(one(spans, 'step now#1').attributes).toMatchObject({ [ATTR.STEP_KIND]: 'now', [ATTR.STATUS]: 'completed' })
  })

  it('ends every span it starts, children within their parents', async () => {
    const spans = await runOnboarding()
    expect(spans.map((s) => s.name).sort()).toEqual(
      [
        'GET /profiles/:id',
        'action profile.fetch',
        'step compose-greeting#1',
        'step now#1',
        'step profile.fetch#1',
        'workflow onboarding',
      ].sort(),
    )
    // The exporter gets spans as they end (a simple span processor), so its order is the end order:
    // every span of the run ends before the run's own span. (Span timestamps cannot tell: the SDK
    // anchors each span's start to Date.now(), so spans a fraction of a millisecond apart can compare
    // either way.)
    const run = one(spans, 'workflow onboarding')
    expect(spans.indexOf(run)).toBe(spans.length - 1)
    for (const span of spans) {
      expect(span.ended).toBe(true)
      expect(span.status.code).not.toBe(SpanStatusCode.ERROR)
    }
  })

  it('keeps parallel steps apart: each step’s work nests under its own span', async () => {
    const work = (name: string) => async () => {
      await new Promise((r) => setTimeout(r, 5))
      appTracer.startSpan(`work ${name}`).end()
      return name
    }
    const fanOut = workflow.create({
      id: 'fan-out',
      run: ({ step }) => Promise.all([step.run('left', work('left')), step.run('right', work('right'))]),
    })
    const engine = createTestEngine({ workflows: [fanOut], plugins: [otelPlugin({ tracerProvider: provider })] })
    stop = () => engine.stop()
    await engine.start()
    const run = await engine.trigger(fanOut, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual(['left', 'right'])
    const spans = await finished()
    expect(isChildOf(one(spans, 'work left'), one(spans, 'step left#1'))).toBe(true)
    expect(isChildOf(one(spans, 'work right'), one(spans, 'step right#1'))).toBe(true)
  })

  it('uses the tracer it is given', async () => {
    const engine = createTestEngine({ workflows: [onboarding], plugins: [otelPlugin({ tracer: provider.getTracer('custom-scope') })] })
    stop = () => engine.stop()
    await engine.start()
    await engine.trigger(onboarding, { userId: 'usr_2' })
    await engine.settle()
    const spans = await finished()
    expect(one(spans, 'workflow onboarding').instrumentationScope.name).toBe('custom-scope')
  })

  it('takes the global tracer provider by default, under the scope @do-sdk/otel', async () => {
    const engine = createTestEngine({ workflows: [onboarding], plugins: [otelPlugin()] })
    stop = () => engine.stop()
    await engine.start()
    await engine.trigger(onboarding, { userId: 'usr_3' })
    await engine.settle()
    expect(one(await finished(), 'workflow onboarding').instrumentationScope.name).toBe('@do-sdk/otel')
  })

  it('refuses bad options at once, naming the option', () => {
    expect(() => otelPlugin({ tracer: {} as never })).toThrow(/"tracer"/)
    expect(() => otelPlugin({ tracerProvider: 42 as never })).toThrow(/"tracerProvider"/)
    expect(() => otelPlugin({ parentFromInput: 'trace' as never })).toThrow(/"parentFromInput"/)
  })
})
