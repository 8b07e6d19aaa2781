// How step commits reach the store: journal-only commits fenced by a version check, a finished
// step's entry sent with the next write, and no step with effects started before the earlier
// commits are durable.

import { createEngine, type Datastore, memoryStore, silentLogger, type WriteOp, workflow } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'

/** A memory store that records every batch and can hold step commits back until released. */
const recording = () => {
  const inner = memoryStore()
  const batches: WriteOp[][] = []
  let gate: Promise<void> | undefined
  let open: (() => void) | undefined
  const store: Datastore = {
    ...inner,
    async batch(ops) {
      batches.push(ops)
      // Only step commits are held: a trigger's batch goes through.
      if (gate && ops.some((op) => op.key.startsWith('jrn/'))) await gate
      return inner.batch(ops)
    },
  }
  return {
    store,
    batches,
    hold() {
      gate = new Promise((r) => {
        open = r
      })
    },
    release() {
      gate = undefined
      open?.()
    },
  }
}

const shape = (ops: WriteOp[]) => ops.map((op) => `${op.op} ${op.key.split('/')[0]}`)

const threeSteps = workflow.create({
  id: 'three-steps',
  async run({ step }) {
    const a = await step.run('s1', () => 1)
    const b = await step.run('s2', () => 2)
    const c = await step.run('s3', () => 3)
    return a + b + c
  },
})

describe('step commits', () => {
  it('cost 4 batches for 3 steps: the run record is written at the trigger and at the end only', async () => {
    const rec = recording()
    const engine = createEngine({ store: rec.store, workflows: [threeSteps], logger: silentLogger })
    await engine.start()
    rec.batches.length = 0 // the engine's lock
    const run = await engine.trigger(threeSteps, undefined)
    await expect(run.result()).resolves.toBe(6)
    // New data first, the record, then deletions (see transitions.ts); a step that changes no record
    // field only checks the record's version and the inbox marker's (a signal that came meanwhile).
    const index = ['set ix']
    expect(rec.batches.map(shape)).toEqual([
      ['set due', ...index, 'set run'],
      ['check inbox', 'check run', 'set jrn'],
      ['check inbox', 'check run', 'set jrn'],
      ['check inbox', 'set due', 'set ix', 'set jrn', 'set run', 'delete due', 'delete ix'],
    ])
    const info = await engine.getRun(run.id)
    expect(info.steps.map((s) => [s.id, s.status])).toEqual([
      ['s1#1', 'completed'],
      ['s2#1', 'completed'],
      ['s3#1', 'completed'],
    ])
    await engine.stop()
  })

  it('start a step with effects only once the previous step is durable', async () => {
    const rec = recording()
    const calls: string[] = []
    const wf = workflow.create({
      id: 'ordered',
      async run({ step }) {
        await step.run('first', () => calls.push('first'))
        await step.run('second', () => calls.push('second'))
        return calls.length
      },
    })
    const engine = createEngine({ store: rec.store, workflows: [wf], logger: silentLogger })
    await engine.start()
    rec.hold() // the commit of `first` is held back by the store
    const run = await engine.trigger(wf, undefined)
    const isFirstCommit = (ops?: WriteOp[]) => ops?.some((op) => op.key.startsWith('jrn/')) === true
    while (!isFirstCommit(rec.batches.at(-1))) await new Promise((r) => setImmediate(r))
    expect(calls).toEqual(['first'])
    expect(rec.batches.at(-1)?.map((op) => op.key.split('/')[0])).toEqual(['inbox', 'run', 'jrn'])
    // However long the store holds the commit, `second` does not start (a few event-loop turns here).
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    expect(calls).toEqual(['first'])
    rec.release()
    await expect(run.result()).resolves.toBe(2)
    expect(calls).toEqual(['first', 'second'])
    await engine.stop()
  })

  it('send a step and the sleep after it with the suspension, in one batch', async () => {
    const rec = recording()
    const wf = workflow.create({
      id: 'then-sleep',
      async run({ step }) {
        await step.run('work', () => 'done')
        await step.sleep('1h')
      },
    })
    const engine = createEngine({ store: rec.store, workflows: [wf], logger: silentLogger })
    await engine.start()
    rec.batches.length = 0 // the engine's lock
    const run = await engine.trigger(wf, undefined)
    for (let i = 0; i < 50 && (await engine.getRun(run.id)).status !== 'sleeping'; i++) await new Promise((r) => setTimeout(r, 10))
    expect(rec.batches.map(shape)).toEqual([
      ['set due', 'set ix', 'set run'],
      ['check inbox', 'set due', 'set ix', 'set jrn', 'set jrn', 'set run', 'delete due', 'delete ix'],
    ])
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('sleeping')
    expect(info.currentStep).toBe('sleep#1')
    await engine.stop()
  })

  it('show a running run at the step its journal is at, although its record was not rewritten', async () => {
    const rec = recording()
    let release!: () => void
    const wait = new Promise<void>((r) => {
      release = r
    })
    const wf = workflow.create({
      id: 'long-step',
      async run({ step }) {
        await step.run('quick', () => 1)
        await step.run('slow', () => wait)
      },
    })
    const engine = createEngine({ store: rec.store, workflows: [wf], logger: silentLogger })
    await engine.start()
    rec.batches.length = 0 // the engine's lock
    const run = await engine.trigger(wf, undefined)
    for (let i = 0; i < 50 && rec.batches.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('running')
    expect(info.currentStep).toBe('quick#1')
    expect(info.steps.map((s) => s.id)).toEqual(['quick#1'])
    release()
    await run.result()
    await engine.stop()
  })
})
