// Issue #13, items 4 and 5: cancel from anywhere, and retry after a fix.
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { describe, expect, it } from 'vitest'
import { createEngine, memoryStore, silentLogger, workflow } from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { tempDir } from '../engine/fixtures.js'

const gate = () => {
  let open!: () => void
  const wait = new Promise<void>((r) => (open = r))
  return { wait, open }
}

const until = async (what: string, check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 5_000; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 2))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('4. cancel', () => {
  it('from another process (two engines on one SQLite file) reaches the running execution at its next step', async () => {
    const path = join(tempDir('do-cancel-'), 'runs.db')
    const first = gate()
    const ran: string[] = []
    const wf = workflow.create({
      id: 'three-steps',
      async run({ step }) {
        await step.run('one', async () => {
          ran.push('one')
          await first.wait
        })
        await step.run('two', () => ran.push('two'))
        await step.run('three', () => ran.push('three'))
      },
    })
    const a = createEngine({ store: sqliteStore({ path }), workflows: [wf], logger: silentLogger, keepAlive: false })
    const b = createEngine({ store: sqliteStore({ path }), workflows: [wf], logger: silentLogger, keepAlive: false })
    await a.start()
    const run = await a.trigger(wf, undefined)
    await until('step one to start', () => ran.includes('one'))
    await b.cancel(run.id, 'from b') // B does not execute the run: it asks its owner
    first.open()
    await expect(a.handle(run.id, wf.id).result()).rejects.toThrow(/cancelled/)
    expect(ran).toEqual(['one'])
    expect((await b.getRun(run.id)).status).toBe('cancelled')
    await a.stop()
    await b.stop()
  })

  it('settles when the execution here lost its lease to another engine', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const hold = gate()
    const wf = workflow.create({
      id: 'held',
      async run({ step }) {
        await step.run('long', () => hold.wait)
        await step.run('after', () => 1)
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, clock })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'held' })
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    // Another engine takes the run over: its record moves under this execution.
    const got = await store.get('run/held')
    const record = JSON.parse(got?.value as string)
    await store.batch([
      { op: 'set', key: 'run/held', value: JSON.stringify({ ...record, owner: 'elsewhere', leaseUntil: clock.now() + 60_000 }) },
    ])
    await engine.cancel(run.id, 'stop it') // must settle: the request is stored for the new owner
    const signals = await store.list('sig/')
    expect(signals.map((s) => JSON.parse(s.value).name)).toEqual(['$cancel'])
    hold.open()
    await engine.stop()
  })

  it('reaches a child started at any moment, even when the parent is cancelled right after the trigger', async () => {
    const child = workflow.create({
      id: 'child',
      async run({ step }) {
        await step.waitForEvent('never')
      },
    })
    const parent = workflow.create({
      id: 'parent',
      async run({ step }) {
        await step.invoke(child, {})
      },
    })
    for (let delay = 0; delay < 8; delay++) {
      const engine = createTestEngine({ workflows: [parent, child] })
      await engine.start()
      const run = await engine.trigger(parent, undefined, { id: `p${delay}` })
      for (let i = 0; i < delay; i++) await new Promise((r) => setImmediate(r))
      await engine.cancel(run.id, 'changed my mind')
      await engine.settle()
      expect((await engine.getRun(run.id)).status).toBe('cancelled')
      const children = await engine.listRuns({ workflowId: 'child' })
      expect(children.runs.filter((r) => r.status !== 'cancelled')).toEqual([])
      await engine.stop()
    }
  })
})

describe('5. retry', () => {
  it('retries a parent that failed because its child failed: the child goes again, and the parent completes', async () => {
    let broken = true
    const child = workflow.create({
      id: 'charge',
      async run({ step }) {
        return step.run(
          'gateway',
          () => {
            if (broken) throw new Error('gateway down')
            return 'charged'
          },
          { retry: false },
        )
      },
    })
    const parent = workflow.create({
      id: 'checkout',
      async run({ step }) {
        return `order ${await step.invoke(child, {})}`
      },
    })
    const engine = createTestEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('failed')
    broken = false
    await engine.retry(run.id)
    await engine.settle()
    await expect(run.result()).resolves.toBe('order charged')
    await engine.stop()
  })

  it('retries the step that failed although the workflow caught its error and threw its own', async () => {
    let calls = 0
    let paid = 0
    const wf = workflow.create({
      id: 'rethrow',
      async run({ step }) {
        await step.run('pay', () => ++paid)
        try {
          await step.run(
            'reserve',
            () => {
              if (++calls === 1) throw new Error('stock service down')
              return 'reserved'
            },
            { retry: false },
          )
        } catch {
          throw new Error('checkout failed')
        }
        return 'ok'
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).error?.message).toBe('checkout failed')
    await engine.retry(run.id)
    await engine.settle()
    await expect(run.result()).resolves.toBe('ok')
    expect([calls, paid]).toEqual([2, 1])
    await engine.stop()
  })
})
