import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { virtualClock } from '../../src/engine/clock.js'
import { action, CancelledError, NonRetryableError, SizeLimitError, workflow } from '../../src/index.js'
import { newStore, testEngine } from './fixtures.js'

describe('children and cancellation', () => {
  it('invokes a child workflow and returns its output', async () => {
    const child = workflow.create({
      id: 'child',
      input: z.object({ n: z.number() }),
      async run({ input, step }) {
        await step.sleep('1h')
        return input.n * 2
      },
    })
    const parent = workflow.create({ id: 'parent', run: async ({ step }) => (await step.invoke(child, { n: 21 })) + 1 })
    const engine = testEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined, { id: 'p1' })
    await engine.settle()
    expect((await engine.getRun('p1')).status).toBe('waiting')
    expect((await engine.getRun('p1/invoke:child#1')).status).toBe('sleeping')
    await engine.advance('1h')
    await expect(run.result()).resolves.toBe(43)
    await engine.stop()
  })

  it('cancelling a parent cancels its child and aborts the action running in it', async () => {
    let aborted: unknown
    let started!: () => void
    const running = new Promise<void>((r) => (started = r))
    const hang = action.create({
      id: 'hang',
      description: 'Runs until aborted.',
      retry: false,
      execute: (_: unknown, { signal }) =>
        new Promise((_resolve, reject) => {
          started()
          signal.addEventListener('abort', () => {
            aborted = signal.reason
            reject(signal.reason)
          })
        }),
    })
    const child = workflow.create({ id: 'hanging-child', run: async ({ step }) => step.run(hang, {}) })
    const parent = workflow.create({ id: 'parent2', run: async ({ step }) => step.invoke(child, undefined) })
    const engine = testEngine({ workflows: [parent, child] })
    await engine.start()
    const run = await engine.trigger(parent, undefined, { id: 'p2' })
    await running
    await new Promise((r) => setTimeout(r, 10))
    await engine.cancel(run.id, 'user left')
    await engine.settle()
    expect((await engine.getRun('p2')).status).toBe('cancelled')
    expect((await engine.getRun('p2/invoke:hanging-child#1')).status).toBe('cancelled')
    expect(aborted).toBeInstanceOf(CancelledError)
    await expect(run.result()).rejects.toBeInstanceOf(CancelledError)
    await engine.stop()
  })
})

describe('retry of a failed run', () => {
  it('resumes from the last committed step; the failed step is tried again, caught failures are not', async () => {
    let fail = true
    const counts = { a: 0, b: 0, optional: 0 }
    const wf = workflow.create({
      id: 'retryable',
      async run({ step }) {
        await step.run('a', () => ++counts.a)
        const optional = await step
          .run(
            'optional',
            () => {
              counts.optional++
              throw new NonRetryableError('not today')
            },
            { retry: false },
          )
          .catch((e: unknown) => (e instanceof NonRetryableError ? 'caught as NonRetryableError' : 'caught as something else'))
        if (optional !== 'caught as NonRetryableError') throw new Error(`unexpected: ${optional}`)
        return step.run(
          'b',
          () => {
            counts.b++
            if (fail) throw new Error('downstream is down')
            return 'ok'
          },
          { retry: false },
        )
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const failed = await engine.getRun(run.id)
    expect(failed.status).toBe('failed')
    expect(failed.error?.message).toBe('downstream is down')
    fail = false
    await engine.retry(run.id)
    await engine.settle()
    await expect(run.result()).resolves.toBe('ok')
    expect(counts).toEqual({ a: 1, b: 2, optional: 1 })
    expect((await engine.getRun(run.id)).retries).toBe(1)
    await engine.stop()
  })
})

describe('values, state and the store', () => {
  it('returns the same values (Dates, BigInt, Map) on the first run and on replay', async () => {
    const seen: unknown[] = []
    const wf = workflow.create({
      id: 'values',
      async run({ step }) {
        const v = await step.run('make', () => ({ when: new Date(5), big: 7n, m: new Map([['k', 1]]) }))
        seen.push(v)
        await step.waitForEvent('go')
        return v
      },
    })
    const clock = virtualClock()
    const store = newStore(clock)
    const first = testEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    await first.stop()
    const second = testEngine({ workflows: [wf], store, clock })
    await second.start()
    await second.signal(run.id, 'go')
    await second.settle()
    expect(seen).toHaveLength(2)
    expect(seen[0]).toEqual(seen[1])
    expect((seen[0] as { when: Date }).when).toBeInstanceOf(Date)
    expect(await second.handle(run.id, 'values').result()).toEqual({ when: new Date(5), big: 7n, m: new Map([['k', 1]]) })
    await second.stop()
  })

  it('validates setState against the state schema and writes nothing on a bad patch', async () => {
    const wf = workflow.create({
      id: 'stateful',
      state: z.object({ count: z.number() }),
      initialState: () => ({ count: 0 }),
      async run({ step, state }) {
        await step.setState((s) => ({ count: s.count + 1 }))
        try {
          await step.setState({ count: 'many' as never })
        } catch (e) {
          return { name: (e as Error).name, count: state.count }
        }
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ name: 'ValidationError', count: 1 })
    expect((await engine.getRun(run.id)).state).toEqual({ count: 1 })
    await engine.stop()
  })

  it('refuses a step result over the size limit, naming the step', async () => {
    const wf = workflow.create({ id: 'big', run: async ({ step }) => step.run('huge', () => 'x'.repeat(2_000), { retry: false }) })
    const engine = testEngine({ workflows: [wf], limits: { stepBytes: 1_000 } })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_SIZE_LIMIT')
    expect(info.error?.message).toMatch(/step "huge#1"/)
    expect(SizeLimitError).toBeDefined()
    await engine.stop()
  })

  it('journals step.store reads and writes, and shares the Datastore with engine.kv', async () => {
    let reads = 0
    const wf = workflow.create({
      id: 'notebook',
      async run({ step }) {
        await step.store.set('profile:1', { name: 'Jane', at: new Date(1) })
        const got = await step.store.get<{ name: string }>('profile:1')
        reads++
        await step.waitForEvent('go')
        return got
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await engine.kv.get('profile:1')).toEqual({ name: 'Jane', at: new Date(1) })
    await engine.kv.set('profile:1', { name: 'Changed' })
    await engine.signal(run.id, 'go')
    await engine.settle()
    expect(await run.result()).toEqual({ name: 'Jane', at: new Date(1) })
    expect(reads).toBe(2)
    expect(await engine.kv.update<number>('counter', (n) => (n ?? 0) + 1)).toBe(1)
    await engine.stop()
  })
})

describe('listing and retention', () => {
  it('lists runs by workflow and status, a page at a time', async () => {
    const a = workflow.create({ id: 'wf-a', run: async ({ step }) => step.waitForEvent('x') })
    const b = workflow.create({ id: 'wf-b', run: async () => 'done' })
    const engine = testEngine({ workflows: [a, b] })
    await engine.start()
    for (let i = 0; i < 5; i++) await engine.trigger(a, undefined, { id: `a-${i}` })
    for (let i = 0; i < 3; i++) await engine.trigger(b, undefined, { id: `b-${i}` })
    await engine.settle()
    const page1 = await engine.listRuns({ workflowId: 'wf-a', status: 'waiting', limit: 3 })
    expect(page1.runs.map((r) => r.id)).toEqual(['a-0', 'a-1', 'a-2'])
    const page2 = await engine.listRuns({ workflowId: 'wf-a', status: 'waiting', limit: 3, cursor: page1.nextCursor })
    expect(page2.runs.map((r) => r.id)).toEqual(['a-3', 'a-4'])
    expect(page2.nextCursor).toBeUndefined()
    expect((await engine.listRuns({ status: 'completed' })).runs.map((r) => r.id)).toEqual(['b-0', 'b-1', 'b-2'])
    await engine.stop()
  })

  it('lists and counts across workflows from the one index, newest first, a "/" in a workflow id kept apart', async () => {
    const team = workflow.create({ id: 'team', run: async ({ step }) => step.waitForEvent('x') })
    const teamA = workflow.create({ id: 'team/a', run: async () => 'done' })
    const other = workflow.create({ id: 'other', run: async ({ step }) => step.waitForEvent('x') })
    const engine = testEngine({ workflows: [team, teamA, other] })
    await engine.start()
    // Created 1 s apart, round robin over the three workflows: newest first interleaves them.
    const order: string[] = []
    for (let i = 0; i < 9; i++) {
      const wf = [team, teamA, other][i % 3] as typeof team
      await engine.trigger(wf, undefined, { id: `r-${i}` })
      order.unshift(`r-${i}`)
      await engine.advance('1s')
    }
    await engine.settle()
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await engine.listRuns({ limit: 4, cursor })
      seen.push(...page.runs.map((r) => r.id))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual(order)
    expect((await engine.listRuns({ status: 'waiting' })).runs.map((r) => r.id)).toEqual(
      order.filter((id) => Number(id.slice(2)) % 3 !== 1),
    )
    expect((await engine.listRuns({ workflowId: 'team' })).runs.map((r) => r.id)).toEqual(['r-6', 'r-3', 'r-0'])
    expect((await engine.listRuns({ workflowId: 'team/a' })).runs.map((r) => r.id)).toEqual(['r-7', 'r-4', 'r-1'])
    expect(await engine.countRuns()).toBe(9)
    expect(await engine.countRuns({ status: 'completed' })).toBe(3)
    expect(await engine.countRuns({ status: ['waiting', 'completed'] })).toBe(9)
    expect(await engine.countRuns({ workflowId: 'team' })).toBe(3)
    expect(await engine.countRuns({ workflowId: 'team', status: 'waiting' })).toBe(3)
    await engine.stop()
  })

  it('pages through ranges of very different sizes: every run once, newest first', async () => {
    const busy = workflow.create({ id: 'busy', run: async () => 'done' })
    const rare = workflow.create({ id: 'rare', run: async () => 'done' })
    const engine = testEngine({ workflows: [busy, rare] })
    await engine.start()
    const order: string[] = []
    for (let i = 0; i < 60; i++) {
      await engine.trigger(i % 20 === 7 ? rare : busy, undefined, { id: `run-${String(i).padStart(2, '0')}` })
      order.unshift(`run-${String(i).padStart(2, '0')}`)
      await engine.advance('1s')
    }
    await engine.settle()
    for (const limit of [1, 7, 50]) {
      const seen: string[] = []
      let cursor: string | undefined
      do {
        const page = await engine.listRuns({ limit, cursor, status: 'completed' })
        expect(page.runs.length).toBeLessThanOrEqual(limit)
        seen.push(...page.runs.map((r) => r.id))
        cursor = page.nextCursor
      } while (cursor)
      expect(seen).toEqual(order)
    }
    await engine.stop()
  })

  it('removes finished runs after the retention period, journal included', async () => {
    const store = newStore()
    const clock = virtualClock()
    const wf = workflow.create({ id: 'short-lived', run: async ({ step }) => step.run('s', () => 1) })
    const engine = testEngine({ workflows: [wf], store: newStore(clock), clock, retention: '1d' })
    void store
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect((await engine.getRun(run.id)).status).toBe('completed')
    await engine.advance('23h')
    expect((await engine.getRun(run.id)).status).toBe('completed')
    await engine.advance('2h')
    await expect(engine.getRun(run.id)).rejects.toMatchObject({ code: 'ERR_RUN_NOT_FOUND' })
    await engine.stop()
  })
})
