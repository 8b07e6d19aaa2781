// Issue #13, items 3, 7 and 8: a hiccuping store, stores without atomic batches, and retention.
import { describe, expect, it } from 'vitest'
import { type Datastore, memoryStore, type WriteOp, workflow } from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'

describe('3. one transient store error', () => {
  it('never runs an in-flight step a second time: the failed batch is sent again, the execution is not dropped', async () => {
    const clock = virtualClock()
    const inner = memoryStore({ now: clock.now })
    let failNext = false
    let failed = 0
    const store: Datastore = {
      ...inner,
      async batch(ops) {
        if (failNext && ops.some((op) => op.key.startsWith('jrn/'))) {
          failNext = false
          failed++
          throw new Error('connection reset')
        }
        return inner.batch(ops)
      },
    }
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let slowRuns = 0
    let inSlow = 0
    let maxInSlow = 0
    const wf = workflow.create({
      id: 'slow-and-quick',
      async run({ step }) {
        const [slow, quick] = await Promise.all([
          step.run('slow', async () => {
            slowRuns++
            maxInSlow = Math.max(maxInSlow, ++inSlow)
            await gate
            inSlow--
            return 'slow'
          }),
          step.run('quick', () => 'quick'),
        ])
        return `${slow}+${quick}`
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, clock })
    await engine.start()
    failNext = true
    const run = await engine.trigger(wf, undefined)
    for (let i = 0; i < 50 && failed === 0; i++) await new Promise((r) => setImmediate(r))
    expect(failed).toBe(1)
    // Polls and the writer's backoff go by (engine.advance would wait for `slow` to end: move the
    // clock by hand); the engine must not start `slow` again meanwhile.
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000)
      await engine.tick()
      for (let k = 0; k < 10; k++) await new Promise((r) => setImmediate(r))
    }
    release()
    await engine.settle()
    await expect(run.result()).resolves.toBe('slow+quick')
    expect(slowRuns).toBe(1)
    expect(maxInSlow).toBe(1)
    await engine.stop()
  })
})

/** Applies ops one by one (a plain Keyv store); the process dies when the op counter reaches `cut.at`. */
const oneByOne = (clock: { now(): number }, cut: { at: number; ops: number; hit: boolean; die?: () => void }): Datastore => {
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
      for (const op of ops) {
        if (!cut.hit && cut.ops++ === cut.at) {
          cut.hit = true
          cut.die?.()
          throw new Error('process died')
        }
        const res = await inner.batch([op.op === 'check' ? op : { ...op, ifVersion: undefined }])
        versions.push(res.ok ? (res.versions[0] as number) : 0)
      }
      return { ok: true, versions }
    },
  }
}

const parent = (child: ReturnType<typeof workflow.create>) =>
  workflow.create({
    id: 'every-kind',
    state: undefined,
    initialState: () => ({ stage: 'new' }),
    async run({ step }) {
      await step.store.set('greeting', 'hello')
      await step.setState({ stage: 'stored' })
      const [a, b] = await Promise.all([step.run('a', () => 1), step.run('b', () => 2)])
      const got = (await step.waitForEvent('go', { timeout: '1h' })) as { n: number } | null
      await step.sleep('1m')
      const fromChild = await step.invoke(child, { x: a + b })
      const greeting = await step.store.get<string>('greeting')
      await step.setState({ stage: 'done' })
      return `${greeting} ${got?.n ?? 'timeout'} ${fromChild}`
    },
  })

describe('7. stores without atomic batches', () => {
  const child = workflow.create({
    id: 'child',
    async run({ input, step }) {
      return step.run('double', () => (input as { x: number }).x * 2)
    },
  })
  const wf = parent(child)

  /** Runs the workflow to the end on a one-by-one store, killing the engine at op `at` (or never). */
  const lifeWithCut = async (at: number) => {
    const clock = virtualClock()
    // Counting starts after the engine's start: op 0 is the first op of the trigger.
    const cut = { at: Number.POSITIVE_INFINITY, ops: 0, hit: false, die: undefined as (() => void) | undefined }
    const ds = oneByOne(clock, cut)
    const first = createTestEngine({ workflows: [wf, child], store: ds, clock, engineId: 'restarted' })
    cut.die = () => first.kill()
    await first.start()
    cut.ops = 0
    cut.at = at
    // A trigger that dies half-way throws; the caller triggers again (same id) once the process is back.
    await first.trigger(wf, undefined, { id: 'life' }).catch(() => undefined)
    const run = { id: 'life' }
    await first.settle()
    if (!first.crashed) await first.signal(run.id, 'go', { n: 7 }).catch(() => {})
    await first.settle()
    if (!first.crashed) await first.advance('1m')
    if (!first.crashed) await first.advance('1m')
    const firstOps = cut.ops
    cut.at = Number.POSITIVE_INFINITY // the restarted process does not die
    const second = createTestEngine({ workflows: [wf, child], store: ds, clock, engineId: 'restarted' })
    await second.start()
    await second.trigger(wf, undefined, { id: 'life' })
    await second.settle()
    let info = await second.getRun(run.id)
    // The signal may have been lost with the process that died while sending it: send it again.
    if (info.status === 'waiting') await second.signal(run.id, 'go', { n: 7 })
    for (let i = 0; i < 4; i++) await second.advance('1m')
    info = await second.getRun(run.id)
    await second.stop()
    return { cut, info, firstOps }
  }

  it('resume the run after the process dies at any op of its life, with nothing lost', async () => {
    const clean = await lifeWithCut(Number.POSITIVE_INFINITY)
    expect(clean.info.status).toBe('completed')
    expect(clean.info.output).toBe('hello 7 6')
    const total = clean.firstOps
    expect(total).toBeGreaterThan(40)
    for (let at = 0; at < total; at++) {
      const { cut, info } = await lifeWithCut(at)
      expect({ at, hit: cut.hit, status: info.status, output: info.output }).toEqual({
        at,
        hit: true,
        status: 'completed',
        output: 'hello 7 6',
      })
    }
  }, 120_000)
})

describe('8. retention', () => {
  it('a retry that lands while retention removes a failed run is refused; no committed step runs again', async () => {
    const clock = virtualClock()
    const inner = memoryStore({ now: clock.now })
    let onJournalList: (() => Promise<void>) | undefined
    const store: Datastore = {
      ...inner,
      async list(prefix, options) {
        if (prefix.startsWith('jrn/') && onJournalList) {
          const hook = onJournalList
          onJournalList = undefined
          await hook()
        }
        return inner.list(prefix, options)
      },
    }
    let charged = 0
    const wf = workflow.create({
      id: 'charge-then-fail',
      async run({ step }) {
        await step.run('charge', () => ++charged)
        await step.run('ship', () => {
          throw new Error('no courier')
        })
      },
    })
    const engine = createTestEngine({ workflows: [wf], store, clock, retention: '1d' })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'r' })
    for (let i = 0; i < 5; i++) await engine.advance('1m') // the retries of `ship` run out
    expect((await engine.getRun(run.id)).status).toBe('failed')
    let retry: unknown
    onJournalList = async () => {
      retry = await engine.retry(run.id).then(
        () => 'retried',
        (e: Error) => e.message,
      )
    }
    await engine.advance('1d')
    await engine.settle()
    expect(charged).toBe(1)
    if (retry === 'retried') {
      // The retry won the race: the run goes on with its journal, the charge not repeated.
      expect((await engine.getRun(run.id)).steps.find((s) => s.id === 'charge#1')?.status).toBe('completed')
    } else {
      expect(retry).toMatch(/being removed/)
      await expect(engine.getRun(run.id)).rejects.toThrow(/not found|RUN_NOT_FOUND|No run/i)
      expect(await inner.list('jrn/')).toEqual([])
    }
    await engine.stop()
  })
})
