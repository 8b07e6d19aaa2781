import type { Plugin } from '@do-sdk/core'
import { createTestEngine, type TestEngine } from '@do-sdk/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { authorizationPlugin, checkout, loggerPlugin, metricsPlugin, mockActions, outbox } from '../src/index.js'

const order = { customerId: 'cus_1', email: 'jane@example.com', amount: 120 }
const overLimit = authorizationPlugin((c) =>
  c.action.id === 'payments.charge' && (c.input as { amount: number }).amount > 500 ? 'over the 500 limit' : undefined,
)

let engine: TestEngine | undefined
const startEngine = async (plugins: Plugin[]) => {
  engine = createTestEngine({ workflows: [checkout], plugins })
  await engine.start()
  return engine
}
beforeEach(() => {
  outbox.charges.length = 0
  outbox.emails.length = 0
})
afterEach(async () => {
  await engine?.stop()
  engine = undefined
})

describe('hooks examples', () => {
  it('loggerPlugin writes one line per event, in order', async () => {
    const lines: string[] = []
    const e = await startEngine([loggerPlugin((line) => lines.push(line))])
    await e.trigger(checkout, order, { id: 'checkout:1' })
    await e.settle()
    expect(lines).toEqual([
      '[checkout:1] started checkout@1',
      '[checkout:1] step payments.charge#1 done',
      '[checkout:1] step email.send#1 done',
      '[checkout:1] completed in 0ms',
    ])
  })

  it('a throwing observer is reported on the error hook and the run still completes', async () => {
    const e = await startEngine([
      loggerPlugin(() => {
        throw new Error('disk full')
      }),
    ])
    const errors: string[] = []
    e.hooks.on('error', (err) => void errors.push(`${err.source}: ${err.error.message}`))
    const run = await e.trigger(checkout, order)
    await e.settle()
    await expect(run.result()).resolves.toEqual({ chargeId: 'ch_1' })
    expect(errors).toContain('observer:workflow:complete: disk full')
  })

  it('metricsPlugin counts runs, steps and action attempts', async () => {
    const metrics = metricsPlugin()
    const e = await startEngine([metrics, overLimit])
    await e.trigger(checkout, order)
    await e.trigger(checkout, { ...order, amount: 900 })
    await e.settle()
    expect(Object.fromEntries(metrics.counters)).toEqual({
      'runs.started': 2,
      'runs.completed': 1,
      'runs.failed': 1,
      'steps.completed.action': 2,
      'steps.failed.action': 1,
      'actions.payments.charge.attempts': 2,
      'actions.email.send.attempts': 1,
    })
  })

  it('authorizationPlugin vetoes the action: it never runs and the run fails with the reason', async () => {
    const e = await startEngine([overLimit])
    const allowed = await e.trigger(checkout, order)
    const refused = await e.trigger(checkout, { ...order, amount: 900 })
    await e.settle()
    await expect(allowed.result()).resolves.toEqual({ chargeId: 'ch_1' })
    await expect(refused.result()).rejects.toThrow(/refused in run .*over the 500 limit/)
    expect(outbox.charges).toEqual([120])
    const info = await e.getRun(refused.id)
    expect(info.steps).toMatchObject([{ id: 'payments.charge#1', status: 'failed', error: { code: 'ERR_NON_RETRYABLE' } }])
  })

  it('mockActions short-circuits an action: the mock result is journaled, the real action never runs', async () => {
    const mocks = mockActions({ 'email.send': () => ({ messageId: 'mock_1' }) })
    const e = await startEngine([mocks])
    const run = await e.trigger(checkout, order)
    await e.settle()
    await expect(run.result()).resolves.toEqual({ chargeId: 'ch_1' })
    expect(outbox.emails).toEqual([])
    expect(outbox.charges).toEqual([120])
    expect(mocks.calls).toEqual([
      { actionId: 'email.send', stepId: 'email.send#1', input: { to: 'jane@example.com', subject: 'Receipt for ch_1' } },
    ])
    const info = await e.getRun(run.id)
    expect(info.steps.find((s) => s.id === 'email.send#1')).toMatchObject({ status: 'completed', output: { messageId: 'mock_1' } })
  })
})
