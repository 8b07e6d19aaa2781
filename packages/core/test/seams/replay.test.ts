// Issue #13, items 1 and 2: fan-out replays and raced waits.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { action, workflow } from '../../src/index.js'
import { createTestEngine } from '../../src/testing/index.js'

/** Promises resolved by hand, in an order the test chooses. */
const gates = (n: number) => {
  const open: (() => void)[] = []
  const wait = Array.from({ length: n }, (_, i) => new Promise<void>((r) => (open[i] = r)))
  return { wait, open }
}

describe('1. fan-out replay', () => {
  it('hands each branch its own results after a suspension, whatever order the branches finished in', async () => {
    const g = gates(3)
    const ran: string[] = []
    const wf = workflow.create({
      id: 'fan-out',
      async run({ step }) {
        const out = await Promise.all(
          [1, 2, 3].map(async (x) => {
            const a = await step.run('fetch', async () => {
              await g.wait[x - 1]
              ran.push(`fetch ${x}`)
              return x * 10
            })
            return step.run('transform', () => {
              ran.push(`transform ${a}`)
              return `item ${x}: ${a}`
            })
          }),
        )
        await step.sleep('1m')
        return out
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    // The branches finish in reverse order: branch 3 asks for `transform` first, so it gets transform#1.
    for (const i of [2, 1, 0]) {
      g.open[i]?.()
      for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r))
    }
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('sleeping')
    await engine.advance('1m') // replays the whole fan-out from the journal
    await expect(run.result()).resolves.toEqual(['item 1: 10', 'item 2: 20', 'item 3: 30'])
    expect(ran.filter((r) => r.startsWith('fetch'))).toHaveLength(3)
    await engine.stop()
  })

  it('refuses, with a NonDeterminismError, a journaled step called with other input than it was', async () => {
    let suffix = 'a'
    const echo = action.create({ id: 'echo', description: 'Echoes.', input: z.object({ v: z.string() }), execute: async ({ v }) => v })
    const wf = workflow.create({
      id: 'inputs',
      async run({ step }) {
        const first = await step.run(echo, { v: `value-${suffix}` })
        await step.sleep('1m')
        return first
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    suffix = 'b' // the code now computes another input for the same step
    await engine.advance('1m')
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_NON_DETERMINISM')
    expect(info.error?.message).toMatch(/"echo#1" is called with other input/)
    await engine.stop()
  })
})

describe('2. raced waits', () => {
  it('a wait that lost a Promise.race does not take the next round’s signal', async () => {
    const wf = workflow.create({
      id: 'approvals',
      async run({ step }) {
        const rounds: string[] = []
        for (let round = 0; round < 3; round++) {
          const got = await Promise.race([
            step.waitForEvent('approve').then(() => 'approve'),
            step.waitForEvent('reject').then(() => 'reject'),
          ])
          rounds.push(got)
        }
        return rounds
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    for (const name of ['reject', 'approve', 'approve']) {
      await engine.signal(run.id, name, {})
      await engine.settle()
    }
    await expect(run.result()).resolves.toEqual(['reject', 'approve', 'approve'])
    await engine.stop()
  })

  it('the same, when each round runs in a new execution (a restart between signals)', async () => {
    const wf = workflow.create({
      id: 'approvals-restart',
      async run({ step }) {
        const rounds: string[] = []
        for (let round = 0; round < 2; round++) {
          rounds.push(
            await Promise.race([step.waitForEvent('approve').then(() => 'approve'), step.waitForEvent('reject').then(() => 'reject')]),
          )
          await step.sleep('1s') // each round ends in a suspension: the next one replays the first
        }
        return rounds
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'reject', {})
    await engine.advance('1s')
    await engine.signal(run.id, 'approve', {})
    await engine.advance('1s')
    await expect(run.result()).resolves.toEqual(['reject', 'approve'])
    await engine.stop()
  })

  it('two waits for one name started together take signals in the order they were started', async () => {
    const wf = workflow.create({
      id: 'two-waits',
      async run({ step }) {
        return Promise.all([step.waitForEvent('item'), step.waitForEvent('item')])
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'item', { n: 1 })
    await engine.signal(run.id, 'item', { n: 2 })
    await engine.settle()
    await expect(run.result()).resolves.toEqual([{ n: 1 }, { n: 2 }])
    await engine.stop()
  })
})
