// engine.fork (retrigger from the middle) and engine.replayCheck (a deploy gate).
import { describe, expect, it } from 'vitest'
import { memoryStore, workflow } from '../src/index.js'
import { createTestEngine, virtualClock } from '../src/testing/index.js'

describe('engine.fork', () => {
  it('reuses the finished steps before `fromStep` and runs the rest on today’s code', async () => {
    const calls: string[] = []
    let fixed = false
    const wf = workflow.create({
      id: 'order',
      async run({ input, step }) {
        const paid = await step.run('pay', () => {
          calls.push('pay')
          return `paid ${(input as { n: number }).n}`
        })
        const shipped = await step.run(
          'ship',
          () => {
            calls.push('ship')
            if (!fixed) throw new Error('no courier')
            return 'shipped'
          },
          { retry: false },
        )
        return `${paid}, ${shipped}`
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const source = await engine.trigger(wf, { n: 1 }, { id: 'o1' })
    await engine.settle()
    expect((await engine.getRun(source.id)).status).toBe('failed')
    fixed = true
    const fork = await engine.fork(source.id, { fromStep: 'ship#1', id: 'o1-again' })
    await engine.settle()
    await expect(fork.result()).resolves.toBe('paid 1, shipped')
    expect(calls).toEqual(['pay', 'ship', 'ship']) // `pay` reused, not run again
    expect((await engine.getRun(source.id)).status).toBe('failed') // the source is untouched
    await expect(engine.fork(source.id, { fromStep: 'nope#1' })).rejects.toThrow(/has no step "nope#1" \(its steps: pay#1, ship#1\)/)
    await engine.stop()
  })
})

describe('engine.replayCheck', () => {
  const build = (name: string) =>
    workflow.create({
      id: 'onboard',
      async run({ step }) {
        await step.run(name, () => 1)
        await step.sleep('1d')
        await step.run('welcome', () => 2)
      },
    })

  it('passes on unchanged code, names both steps when a step was renamed, and writes nothing', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const engine = createTestEngine({ workflows: [build('load-user')], store, clock })
    await engine.start()
    for (let i = 0; i < 3; i++) await engine.trigger(build('load-user'), undefined, { id: `u${i}` })
    await engine.settle()
    const before = JSON.stringify(await store.list(''))
    expect(await engine.replayCheck()).toEqual({ checked: 3, failures: [], ok: true })
    const report = await engine.replayCheck({ workflows: [build('fetch-user')] })
    expect(report.ok).toBe(false)
    expect(report.checked).toBe(3)
    expect(report.failures.map((f) => [f.runId, f.stepId, f.journalStepId]).sort()).toEqual([
      ['u0', 'fetch-user#1', 'load-user#1'],
      ['u1', 'fetch-user#1', 'load-user#1'],
      ['u2', 'fetch-user#1', 'load-user#1'],
    ])
    expect(JSON.stringify(await store.list(''))).toBe(before)
    await engine.stop()
  })

  it('reports a run whose version has no code', async () => {
    const engine = createTestEngine({ workflows: [build('a')] })
    await engine.start()
    await engine.trigger(build('a'), undefined, { id: 'r' })
    await engine.settle()
    const other = workflow.create({ id: 'other', run: async () => 1 })
    const report = await engine.replayCheck({ workflows: [other] })
    expect(report.failures).toEqual([
      { runId: 'r', workflowId: 'onboard', version: '1', message: 'no code for workflow "onboard" version "1"' },
    ])
    await engine.stop()
  })
})
