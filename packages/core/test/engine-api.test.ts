// Small public-API promises: what cancel says it did, the buffered signals, the last page of listRuns,
// and the store clock measured by an engine that is never started.
import { describe, expect, it } from 'vitest'
import { createEngine, type Datastore, memoryStore, silentLogger, workflow } from '../src/index.js'
import { createTestEngine } from '../src/testing/index.js'

const waiter = workflow.create({
  id: 'waiter',
  async run({ step }) {
    return step.waitForEvent('go')
  },
})

describe('engine API', () => {
  it('cancel says what it did: cancelled, requested (another process executes it) or finished', async () => {
    const engine = createTestEngine({ workflows: [waiter] })
    await engine.start()
    const run = await engine.trigger(waiter, undefined, { id: 'w1' })
    await engine.settle()
    expect(await engine.cancel(run.id)).toBe('cancelled')
    expect(await engine.cancel(run.id)).toBe('finished')
    await engine.stop()
  })

  it('listSignals shows what waits in a run’s inbox, in send order, and not what a wait took', async () => {
    const twoWaits = workflow.create({
      id: 'two',
      async run({ step }) {
        await step.waitForEvent('first')
        return step.waitForEvent('second')
      },
    })
    const engine = createTestEngine({ workflows: [twoWaits] })
    await engine.start()
    const run = await engine.trigger(twoWaits, undefined, { id: 't1' })
    await engine.settle()
    await engine.signal(run.id, 'later', { n: 1 })
    await engine.signal(run.id, 'first', { n: 2 })
    await engine.settle()
    expect((await engine.listSignals(run.id)).map((s) => [s.name, s.payload])).toEqual([['later', { n: 1 }]])
    await engine.stop()
  })

  it('a full last page of listRuns promises no more', async () => {
    const quick = workflow.create({ id: 'quick', run: async () => 1 })
    const engine = createTestEngine({ workflows: [quick] })
    await engine.start()
    for (let i = 0; i < 4; i++) await engine.trigger(quick, undefined, { id: `q${i}` })
    await engine.settle()
    const first = await engine.listRuns({ limit: 2 })
    expect(first.runs).toHaveLength(2)
    expect(first.nextCursor).toBeDefined()
    const last = await engine.listRuns({ limit: 2, cursor: first.nextCursor })
    expect(last.runs).toHaveLength(2)
    expect(last.nextCursor).toBeUndefined()
    expect(new Set([...first.runs, ...last.runs].map((r) => r.id)).size).toBe(4)
    await engine.stop()
  })

  it('an engine that is never started (a producer, the CLI) writes by the store clock too', async () => {
    const inner = memoryStore()
    const ahead = 3_600_000
    const store: Datastore = { ...inner, capabilities: { ...inner.capabilities, multiProcess: true }, now: async () => Date.now() + ahead }
    const producer = createEngine({ store, workflows: [waiter], logger: silentLogger, keepAlive: false })
    const run = await producer.trigger(waiter, undefined, { id: 'p1' })
    expect(Math.abs((await producer.getRun(run.id)).createdAt - (Date.now() + ahead))).toBeLessThan(60_000)
  })
})
