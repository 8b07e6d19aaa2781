// On a store without atomic batches a batch can stop after any op (the process dies midway).
// Whatever the cut point, the run must resume with nothing lost: no signal consumed without the
// journal holding it, no step marked done without its writes.

import { type Datastore, memoryStore, type WriteOp, workflow } from '@do-sdk/core'
import { createTestEngine, virtualClock } from '@do-sdk/core/testing'
import { describe, expect, it } from 'vitest'

type Cut = { at?: number; hit?: boolean; die?: () => void }

/** Applies ops one by one (like a plain Keyv store); `cut.at` kills the process in the next journal commit after that many ops. */
const oneByOne = (clock: { now(): number }, cut: Cut): Datastore => {
  const inner = memoryStore({ now: () => clock.now() })
  return {
    ...inner,
    name: 'one-by-one',
    capabilities: { ...inner.capabilities, atomicBatch: false },
    async batch(ops: WriteOp[]) {
      for (const op of ops) {
        if (op.ifVersion === undefined) continue
        const version = (await inner.get(op.key))?.version ?? 0
        if (version !== op.ifVersion) return { ok: false, conflictKey: op.key, actualVersion: version }
      }
      const versions: number[] = []
      const journal = ops.some((op) => op.key.startsWith('jrn/'))
      for (const [i, op] of ops.entries()) {
        if (journal && cut.at !== undefined && i === cut.at) {
          cut.at = undefined
          cut.hit = true
          cut.die?.()
          throw new Error(`died after ${i} of ${ops.length} ops`)
        }
        const { op: kind, key } = op
        const res = await inner.batch([kind === 'check' ? { op: 'check', key, ifVersion: op.ifVersion } : { ...op, ifVersion: undefined }])
        versions.push(res.ok ? (res.versions[0] as number) : 0)
      }
      return { ok: true, versions }
    },
  }
}

const store = workflow.create({
  id: 'store-then-wait',
  async run({ step }) {
    await step.store.set('greeting', 'hello')
    const got = (await step.waitForEvent('go')) as { n: number }
    const greeting = await step.store.get<string>('greeting')
    return `${greeting} ${got.n}`
  },
})

describe('commits on a store without atomic batches', () => {
  for (let at = 0; at <= 2; at++) {
    it(`lose nothing when the batch consuming a signal stops after ${at} op(s)`, async () => {
      const clock = virtualClock()
      const cut: Cut = {}
      const ds = oneByOne(clock, cut)
      // The same engine id: the process restarted (the dead one never released its single-process lock).
      const first = createTestEngine({ workflows: [store], store: ds, clock, engineId: 'restarted' })
      cut.die = () => first.kill()
      await first.start()
      const run = await first.trigger(store, undefined)
      await first.settle()
      expect((await first.getRun(run.id)).status).toBe('waiting')
      cut.at = at // the batch that commits the wait and deletes the signal it consumed stops there
      await first.signal(run.id, 'go', { n: 7 })
      await first.settle()
      const second = createTestEngine({ workflows: [store], store: ds, clock, engineId: 'restarted' })
      await second.start()
      await second.advance('1m') // past the lease of the first engine
      await second.settle()
      expect(cut.hit).toBe(true)
      const info = await second.getRun(run.id)
      expect(info.status).toBe('completed')
      expect(info.output).toBe('hello 7')
      expect(await ds.list('sig/')).toEqual([])
      await second.stop()
    })
  }
})
