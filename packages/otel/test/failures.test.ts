import { action, workflow } from '@do-sdk/core'
import { createTestEngine, type TestEngine } from '@do-sdk/core/testing'
import { SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ATTR, EVENT, otelPlugin } from '../src/index.js'
import { approval, broken, flakyCharge } from './fixtures.js'
import { exporter, finished, isChildOf, named, one, provider } from './otel-sdk.js'

beforeEach(() => exporter.reset())
let engine: TestEngine | undefined
afterEach(async () => {
  await engine?.stop()
  engine = undefined
})

const checkout = (failures: number) => {
  const charge = flakyCharge(failures)
  return workflow.create({ id: 'checkout', run: ({ step }) => step.run(charge, { amount: 42 }) })
}
const retryEvents = (span: ReadableSpan) => span.events.filter((e) => e.name === EVENT.STEP_RETRY)
const exceptionMessage = (span: ReadableSpan) => span.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']

describe('failures', () => {
  it('a failing step and its run get ERROR status and a recorded exception', async () => {
    engine = createTestEngine({ workflows: [broken], plugins: [otelPlugin({ tracerProvider: provider })] })
    await engine.start()
    await engine.trigger(broken, undefined)
    await engine.settle()
    const spans = await finished()
    const step = one(spans, 'step validate#1')
    expect(step.status).toEqual({ code: SpanStatusCode.ERROR, message: '[do-sdk] card declined' })
    expect(step.attributes[ATTR.STATUS]).toBe('failed')
    expect(exceptionMessage(step)).toBe('[do-sdk] card declined')
    const run = one(spans, 'workflow broken')
    expect(run.status.code).toBe(SpanStatusCode.ERROR)
    expect(run.attributes[ATTR.STATUS]).toBe('failed')
    expect(exceptionMessage(run)).toMatch(/card declined/)
  })

  it('durable retries: one step span per pass, a retry event on each failed attempt, one action span per attempt', async () => {
    const wf = checkout(2)
    engine = createTestEngine({ workflows: [wf], plugins: [otelPlugin({ tracerProvider: provider })] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('1s')
    await engine.advance('1s')
    await expect(run.result()).resolves.toEqual({ chargeId: 'ch_42' })

    const spans = await finished()
    const passes = named(spans, 'workflow checkout')
    expect(passes.map((p) => [p.attributes[ATTR.PASS], p.attributes[ATTR.STATUS]])).toEqual([
      ['start', 'sleeping'],
      ['resume', 'sleeping'],
      ['resume', 'completed'],
    ])
    const steps = named(spans, 'step payments.charge#1')
    const actions = named(spans, 'action payments.charge')
    expect(steps.map((s) => [s.attributes[ATTR.ATTEMPT], s.attributes[ATTR.STATUS]])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'completed'],
    ])
    for (const [i, step] of steps.entries()) {
      expect(isChildOf(step, passes[i] as ReadableSpan)).toBe(true)
      expect(isChildOf(actions[i] as ReadableSpan, step)).toBe(true)
    }
    expect(retryEvents(steps[0] as ReadableSpan)[0]?.attributes).toMatchObject({
      [ATTR.STEP_ID]: 'payments.charge#1',
      [ATTR.ATTEMPT]: 1,
      [ATTR.DELAY_MS]: 1000,
      'exception.message': 'gateway timeout #1',
    })
    expect(retryEvents(steps[2] as ReadableSpan)).toEqual([])
    expect(actions.map((a) => a.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET])
    expect(exceptionMessage(actions[1] as ReadableSpan)).toBe('gateway timeout #2')
  })

  it('inline retries share one step span, with a retry event per failed attempt', async () => {
    const wf = checkout(2)
    let retries = 0
    engine = createTestEngine({ workflows: [wf], inlineRetry: '5s', plugins: [otelPlugin({ tracerProvider: provider })] })
    engine.hooks.on('step:retry', () => void retries++)
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    for (const n of [1, 2]) {
      while (retries < n) await new Promise((r) => setImmediate(r))
      engine.clock.advance(1000)
    }
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ chargeId: 'ch_42' })
    const spans = await finished()
    const step = one(spans, 'step payments.charge#1')
    expect(step.attributes).toMatchObject({ [ATTR.ATTEMPT]: 3, [ATTR.STATUS]: 'completed' })
    expect(retryEvents(step).map((e) => e.attributes?.[ATTR.ATTEMPT])).toEqual([1, 2])
    const actions = named(spans, 'action payments.charge')
    expect(actions.map((a) => a.attributes[ATTR.ATTEMPT])).toEqual([1, 2, 3])
    for (const a of actions) expect(isChildOf(a, step)).toBe(true)
  })

  it('a cancelled suspended run gets a cancelled pass span', async () => {
    engine = createTestEngine({ workflows: [approval], plugins: [otelPlugin({ tracerProvider: provider })] })
    await engine.start()
    const run = await engine.trigger(approval, undefined)
    await engine.settle()
    await engine.cancel(run.id, 'no longer needed')
    await engine.settle()
    const passes = named(await finished(), 'workflow approval')
    expect(passes.map((p) => p.attributes[ATTR.STATUS])).toEqual(['waiting', 'cancelled'])
  })

  it('a pass dropped by engine.stop() ends its spans as abandoned / interrupted', async () => {
    const hang = action.create({
      id: 'hang',
      description: 'Never finishes until aborted.',
      retry: false,
      execute: (_: unknown, { signal }) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    })
    const wf = workflow.create({ id: 'stuck', run: ({ step }) => step.run(hang, {}) })
    engine = createTestEngine({ workflows: [wf], drainTimeout: 20, plugins: [otelPlugin({ tracerProvider: provider })] })
    await engine.start()
    await engine.trigger(wf, undefined)
    await new Promise((r) => setTimeout(r, 5))
    await engine.stop()
    const spans = await finished()
    const run = one(spans, 'workflow stuck')
    expect(run.attributes[ATTR.STATUS]).toBe('abandoned')
    expect(run.status.code).toBe(SpanStatusCode.ERROR)
    expect(one(spans, 'step hang#1').attributes[ATTR.STATUS]).toBe('interrupted')
    expect(one(spans, 'action hang').status.code).toBe(SpanStatusCode.ERROR)
  })
})
