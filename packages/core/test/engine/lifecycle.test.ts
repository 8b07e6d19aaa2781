import { describe, expect, it } from 'vitest'
import { virtualClock } from '../../src/engine/clock.js'
import { EngineStateError, RunNotFoundError, workflow } from '../../src/index.js'
import { newStore, testEngine } from './fixtures.js'

describe('engine lifecycle', () => {
  it('stop() lets the step in flight commit, parks the run, and another engine finishes it without repeating a step', async () => {
    const ran: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const wf = workflow.create({
      id: 'drained',
      async run({ step }) {
        await step.run('slow', async () => {
          ran.push('slow')
          await gate
          return 1
        })
        await step.run('next', () => ran.push('next'))
        return 'done'
      },
    })
    const clock = virtualClock()
    const store = newStore(clock)
    const first = testEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await new Promise((r) => setTimeout(r, 20))
    const stopping = first.stop()
    release()
    await stopping
    expect(ran).toEqual(['slow'])
    const parked = await first.getRun(run.id)
    expect(parked.steps.map((s) => [s.id, s.status])).toEqual([['slow#1', 'completed']])
    expect(parked.owner).toBeUndefined()
    await expect(first.trigger(wf, undefined)).rejects.toBeInstanceOf(EngineStateError)

    const second = testEngine({ workflows: [wf], store, clock, engineId: 'other-engine' })
    await second.start()
    await second.settle()
    expect(await run.result().catch(() => second.getRun(run.id).then((r) => r.output))).toBe('done')
    expect(ran).toEqual(['slow', 'next'])
    await second.stop()
  })

  it('refuses signals to a run that does not exist, writing nothing', async () => {
    const wf = workflow.create({ id: 'noop', run: async () => 1 })
    const store = newStore()
    const engine = testEngine({ workflows: [wf], store })
    await engine.start()
    await expect(engine.signal('no-such-run', 'go')).rejects.toBeInstanceOf(RunNotFoundError)
    expect(await store.list('sig/')).toEqual([])
    await expect(engine.signal('no-such-run', '$cancel')).rejects.toThrow(/reserved/)
    const done = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(engine.signal(done.id, 'late')).resolves.toBe(false)
    expect(await store.list('sig/')).toEqual([])
    await engine.stop()
  })

  it('refuses to start twice and to trigger an unregistered workflow', async () => {
    const wf = workflow.create({ id: 'registered', run: async () => 1 })
    const other = workflow.create({ id: 'not-registered', run: async () => 1 })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    await expect(engine.start()).rejects.toBeInstanceOf(EngineStateError)
    await expect(engine.trigger(other, undefined)).rejects.toMatchObject({ code: 'ERR_WORKFLOW_NOT_FOUND' })
    await engine.stop()
  })
})
