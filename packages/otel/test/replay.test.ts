import { createTestEngine, type TestEngine } from '@do-sdk/core/testing'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ATTR, EVENT, otelPlugin } from '../src/index.js'
import { approval } from './fixtures.js'
import { exporter, finished, isChildOf, named, one, provider } from './otel-sdk.js'

beforeEach(() => exporter.reset())
let engine: TestEngine | undefined
afterEach(async () => {
  await engine?.stop()
  engine = undefined
})

/** Runs `approval` across two passes: it suspends waiting for `approved`, then resumes and completes. */
const twoPasses = async (recordReplayedSteps?: boolean) => {
  engine = createTestEngine({ workflows: [approval], plugins: [otelPlugin({ tracerProvider: provider, recordReplayedSteps })] })
  await engine.start()
  const run = await engine.trigger(approval, undefined)
  await engine.settle()
  await engine.signal(run.id, 'approved', { by: 'ops' })
  await engine.settle()
  await expect(run.result()).resolves.toBe('done')
  const spans = await finished()
  const [first, second] = named(spans, 'workflow approval') as [ReadableSpan, ReadableSpan]
  return { spans, first, second }
}

describe('resumed passes', () => {
  it('a suspended pass ends with what it waits for; the resumed pass is a new trace linked to the first', async () => {
    const { first, second } = await twoPasses()
    expect(first.attributes).toMatchObject({ [ATTR.PASS]: 'start', [ATTR.STATUS]: 'waiting', [ATTR.WAITING_FOR]: 'approved' })
    expect(second.attributes).toMatchObject({ [ATTR.PASS]: 'resume', [ATTR.STATUS]: 'completed', [ATTR.JOURNAL_STEPS]: 2 })
    expect(second.parentSpanContext).toBeUndefined()
    expect(second.spanContext().traceId).not.toBe(first.spanContext().traceId)
    expect(second.links.map((l) => l.context.spanId)).toEqual([first.spanContext().spanId])
    expect(second.events.find((e) => e.name === EVENT.SIGNAL_RECEIVE)?.attributes).toEqual({ [ATTR.SIGNAL_NAME]: 'approved' })
  })

  it('replayed steps are events on the pass span, not spans, by default', async () => {
    const { spans, first, second } = await twoPasses()
    const fetch = one(spans, 'step profile.fetch#1')
    expect(isChildOf(fetch, first)).toBe(true)
    expect(one(spans, 'action profile.fetch').attributes[ATTR.ATTEMPT]).toBe(1)
    expect(second.events.filter((e) => e.name === EVENT.STEP_REPLAYED).map((e) => e.attributes)).toEqual([
      { [ATTR.STEP_ID]: 'profile.fetch#1', [ATTR.STEP_KIND]: 'action', [ATTR.STATUS]: 'completed' },
    ])
    expect(isChildOf(one(spans, 'step wait:approved#1'), second)).toBe(true)
    expect(isChildOf(one(spans, 'step finish#1'), second)).toBe(true)
  })

  it('recordReplayedSteps: replayed steps become spans marked do.replayed, with no action span', async () => {
    const { spans, second } = await twoPasses(true)
    const fetches = named(spans, 'step profile.fetch#1')
    expect(fetches.map((s) => s.attributes[ATTR.REPLAYED])).toEqual([false, true])
    expect(isChildOf(fetches[1] as ReadableSpan, second)).toBe(true)
    expect(named(spans, 'action profile.fetch')).toHaveLength(1)
    expect(second.events.some((e) => e.name === EVENT.STEP_REPLAYED)).toBe(false)
  })
})
