// Flow control on the suite's store: concurrency keys (with getRun's pendingReason), rate limit,
// throttle, debounce, singleton, priority; and step.map's bounded, replay-safe fan-out.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { virtualClock } from '../../src/engine/clock.js'
import { RateLimitedError, workflow } from '../../src/index.js'
import { newStore, testEngine } from './fixtures.js'

const userInput = z.object({ user: z.string(), n: z.number() })

describe('flow control', () => {
  it('a per-key concurrency limit of 1 and a global limit: never two runs of a key at once; the waiting run shows why', async () => {
    const live = new Map<string, number>()
    let most = 0
    let mostPerKey = 0
    const enter = (user: string) => {
      live.set(user, (live.get(user) ?? 0) + 1)
      mostPerKey = Math.max(mostPerKey, live.get(user) ?? 0)
      most = Math.max(
        most,
        [...live.values()].reduce((a, b) => a + b, 0),
      )
    }
    // The first runs hold their slots until the waiting runs were looked at.
    let open: () => void = () => {}
    const gate = new Promise<void>((r) => {
      open = r
    })
    const wf = workflow.create({
      id: 'per-user',
      input: userInput,
      concurrency: [{ key: (i) => i.user, limit: 1 }, { limit: 3 }],
      async run({ input, step }) {
        for (let i = 0; i < 2; i++) {
          await step.run('work', async () => {
            enter(input.user)
            if (i === 0) await gate
            await new Promise((r) => setTimeout(r, 2))
            live.set(input.user, (live.get(input.user) ?? 0) - 1)
          })
          await step.sleep('10s') // suspended: its slots are let go meanwhile
        }
        return input.n
      },
    })
    const engine = testEngine({ workflows: [wf] })
    const delayed: string[] = []
    engine.hooks.on('flow:delayed', (e) => {
      delayed.push(`${e.runId} ${e.reason} ${e.key}`)
    })
    // Triggered before start: the first pass claims r0-r2 (the global limit) and holds the rest back.
    const runs = []
    for (let n = 0; n < 8; n++) runs.push(await engine.trigger(wf, { user: `u${n % 4}`, n }, { id: `r${n}` }))
    await engine.start()
    const waiting = await engine.getRun('r4')
    expect(waiting.status).toBe('pending')
    expect(waiting.pendingReason).toMatchObject({ kind: 'concurrency', key: 'u0', limit: 1 })
    expect(delayed).toContain('r4 concurrency u0')
    expect(delayed).toContain('r3 concurrency ')
    open()
    await engine.advance('10m')
    for (const [n, run] of runs.entries()) await expect(run.result()).resolves.toBe(n)
    expect(mostPerKey).toBe(1)
    expect(most).toBeLessThanOrEqual(3)
    expect((await engine.getRun('r7')).pendingReason).toBeUndefined()
    await engine.stop()
  })

  it('a run waiting for a slot starts when the slot is let go, not at its next look (the clock stands still)', async () => {
    const order: number[] = []
    const wf = workflow.create({
      id: 'hot-key',
      input: userInput,
      concurrency: [{ key: (i) => i.user, limit: 1 }],
      async run({ input, step }) {
        await step.run('work', async () => {
          order.push(input.n)
        })
        return input.n
      },
    })
    const clock = virtualClock()
    const store = newStore(clock)
    const lists: string[] = []
    const list = store.list.bind(store)
    store.list = (prefix, options) => {
      lists.push(options?.before === undefined ? prefix : `${prefix}+`)
      return list(prefix, options)
    }
    const engine = testEngine({ workflows: [wf], clock, store })
    const runs = []
    for (let n = 0; n < 6; n++) runs.push(await engine.trigger(wf, { user: 'hot', n }, { id: `h${n}` }))
    const before = engine.clock.now()
    await engine.start()
    // Never advanced: without the wake-up the waiting runs would start only a slot wait later.
    for (const [n, run] of runs.entries()) await expect(run.result()).resolves.toBe(n)
    expect(engine.clock.now()).toBe(before)
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5])
    // Nothing waits now: a slot let go costs no pass over the due index.
    const idle = () => (engine as unknown as { idle(): Promise<void> }).idle()
    await idle()
    // A pass lists the due schedule ticks first (up to now, so with \`before\`).
    const passes = () => lists.filter((l) => l === 'tick/+').length
    const passesBefore = passes()
    const alone = await engine.trigger(wf, { user: 'alone', n: 6 }, { id: 'h6' })
    // One pass claims it (it was created pending; on the virtual clock the trigger's poll waits for a tick).
    await engine.tick()
    await expect(alone.result()).resolves.toBe(6)
    await idle()
    // Its end let the slot go without another pass.
    expect(passes() - passesBefore).toBe(1)
    // Runs waiting again (met by a pass after the flag went down) are woken again.
    const again = []
    for (let n = 7; n < 10; n++) again.push(await engine.trigger(wf, { user: 'hot', n }, { id: `h${n}` }))
    await engine.tick()
    for (const [i, run] of again.entries()) await expect(run.result()).resolves.toBe(7 + i)
    expect(engine.clock.now()).toBe(before)
    await engine.stop()
  })

  it('rateLimit drops a trigger beyond the limit with a RateLimitedError, nothing written; admitted again after the period', async () => {
    const wf = workflow.create({
      id: 'limited',
      input: userInput,
      rateLimit: { key: (i) => i.user, limit: 2, period: '1m' },
      run: async () => 'ok',
    })
    const engine = testEngine({ workflows: [wf] })
    const dropped: unknown[] = []
    engine.hooks.on('flow:dropped', (e) => {
      dropped.push({ key: e.key, runId: e.runId })
    })
    await engine.start()
    await engine.trigger(wf, { user: 'a', n: 1 })
    await engine.advance('10s')
    await engine.trigger(wf, { user: 'a', n: 2 })
    await engine.trigger(wf, { user: 'b', n: 1 })
    const err = await engine.trigger(wf, { user: 'a', n: 3 }, { id: 'third' }).catch((e) => e)
    expect(err).toBeInstanceOf(RateLimitedError)
    expect(err).toMatchObject({ code: 'ERR_RATE_LIMITED', key: 'a', limit: 2, retryAt: engine.clock.now() + 50_000 })
    expect(dropped).toEqual([{ key: 'a', runId: 'third' }])
    await expect(engine.getRun('third')).rejects.toThrow(/not found/)
    await engine.advance('50s')
    await expect(engine.trigger(wf, { user: 'a', n: 4 })).resolves.toBeDefined()
    expect(await engine.countRuns({ workflowId: 'limited' })).toBe(4)
    await engine.stop()
  })

  it('throttle delays runs beyond the limit: at most limit starts per period, in order', async () => {
    const starts: number[] = []
    const wf = workflow.create({
      id: 'throttled',
      input: z.number(),
      throttle: { limit: 2, period: '1m' },
      async run({ step }) {
        starts.push(await step.now())
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const t0 = engine.clock.now()
    for (let i = 0; i < 5; i++) await engine.trigger(wf, i, { id: `t${i}` })
    expect((await engine.getRun('t4')).pendingReason).toMatchObject({ kind: 'throttle', limit: 2, until: t0 + 120_000 })
    await engine.advance('3m')
    expect(starts.map((t) => t - t0)).toEqual([0, 0, 60_000, 60_000, 120_000])
    await engine.stop()
  })

  it('debounce: triggers within the period make one run with the last input; timeout caps the wait', async () => {
    const got: unknown[] = []
    const wf = workflow.create({
      id: 'debounced',
      input: userInput,
      debounce: { key: (i) => i.user, period: '30s', timeout: '2m' },
      async run({ input }) {
        got.push(input)
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const first = await engine.trigger(wf, { user: 'a', n: 1 })
    await engine.advance('20s')
    const second = await engine.trigger(wf, { user: 'a', n: 2 })
    expect(second.id).toBe(first.id)
    expect((await engine.getRun(first.id)).pendingReason).toMatchObject({ kind: 'debounce', key: 'a' })
    await engine.advance('29s')
    expect(got).toEqual([])
    await engine.advance('2s')
    expect(got).toEqual([{ user: 'a', n: 2 }])
    // A steady stream: the timeout starts it 2 minutes after the first trigger.
    const t0 = engine.clock.now()
    for (let i = 0; i < 10; i++) {
      await engine.trigger(wf, { user: 'a', n: 10 + i })
      await engine.advance('20s')
    }
    // Triggers at 0 s … 100 s made one run, started at the timeout with the input of 100 s; those from 120 s on wait.
    expect(got).toEqual([
      { user: 'a', n: 2 },
      { user: 'a', n: 15 },
    ])
    const run = (await engine.listRuns({ workflowId: 'debounced', status: 'completed' })).runs.find(
      (r) => (r.input as { n: number }).n === 15,
    )
    expect((run?.finishedAt ?? 0) - t0).toBe(120_000)
    await engine.advance('1m')
    expect(got).toEqual([
      { user: 'a', n: 2 },
      { user: 'a', n: 15 },
      { user: 'a', n: 19 },
    ])
    await engine.stop()
  })

  it("singleton 'skip' returns the unfinished run; 'cancel' cancels it and starts the new one", async () => {
    const mk = (mode: 'skip' | 'cancel') =>
      workflow.create({
        id: `single-${mode}`,
        input: userInput,
        singleton: { key: (i) => i.user, mode },
        async run({ step }) {
          await step.sleep('1h')
          return 'done'
        },
      })
    const skip = mk('skip')
    const cancel = mk('cancel')
    const engine = testEngine({ workflows: [skip, cancel] })
    await engine.start()
    const a = await engine.trigger(skip, { user: 'u', n: 1 })
    const b = await engine.trigger(skip, { user: 'u', n: 2 })
    expect(b.id).toBe(a.id)
    const c = await engine.trigger(skip, { user: 'v', n: 3 })
    expect(c.id).not.toBe(a.id)
    const x = await engine.trigger(cancel, { user: 'u', n: 1 })
    await engine.settle()
    const y = await engine.trigger(cancel, { user: 'u', n: 2 })
    expect(y.id).not.toBe(x.id)
    expect(await x.status()).toBe('cancelled')
    await engine.advance('1h')
    await expect(y.result()).resolves.toBe('done')
    await expect(a.result()).resolves.toBe('done')
    expect(await engine.trigger(skip, { user: 'u', n: 4 }).then((h) => h.id)).not.toBe(a.id)
    await engine.stop()
  })

  it('priority: among runs waiting for a slot, the higher priority starts first', async () => {
    const order: number[] = []
    let live = 0
    let most = 0
    let release!: () => void
    const first = new Promise<void>((r) => (release = r))
    const wf = workflow.create({
      id: 'prioritized',
      input: z.number(),
      concurrency: { limit: 1 },
      priority: (n) => n,
      async run({ input, step }) {
        await step.run('go', async () => {
          order.push(input)
          live++
          most = Math.max(most, live)
          // The first run holds the slot until every other run waits for it (no race with a fast store).
          if (order.length === 1) await first
          live--
        })
      },
    })
    const clock = virtualClock()
    const engine = testEngine({ workflows: [wf], clock, store: newStore(clock) })
    for (const n of [1, 5, 3, 9, 2]) await engine.trigger(wf, n, { id: `p${n}` })
    expect((await engine.getRun('p9')).priority).toBe(9)
    await engine.start()
    const waitingForTheSlot = async () =>
      (await engine.listRuns({ status: 'pending' })).runs.filter((r) => r.pendingReason?.kind === 'concurrency').length
    while ((await waitingForTheSlot()) < 4) await new Promise((r) => setImmediate(r))
    release()
    await engine.advance('1m')
    expect({ order, most }).toEqual({ order: [9, 5, 3, 2, 1], most: 1 })
    await engine.stop()
  })
})

describe('step.map', () => {
  it('runs at most concurrency items at once, results in item order, item steps scoped by index, and replays the same', async () => {
    let live = 0
    let most = 0
    const wf = workflow.create({
      id: 'mapper',
      input: z.number(),
      async run({ input, step }) {
        const items = Array.from({ length: input }, (_, i) => i)
        const out = await step.map(
          items,
          async (item) => {
            const a = await step.run('fetch', async () => {
              live++
              most = Math.max(most, live)
              await new Promise((r) => setTimeout(r, item % 3))
              live--
              return item * 2
            })
            await step.sleep(item % 2 ? '1s' : '2s')
            return a + 1
          },
          { concurrency: 4 },
        )
        return out.reduce((s, x) => s + x, 0)
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, 40)
    await engine.advance('1m')
    await expect(run.result()).resolves.toBe(Array.from({ length: 40 }, (_, i) => i * 2 + 1).reduce((s, x) => s + x, 0))
    expect(most).toBeLessThanOrEqual(4)
    const steps = (await engine.getRun(run.id)).steps.map((s) => s.id)
    expect(steps).toContain('map#1[0]/fetch#1')
    expect(steps).toContain('map#1[39]/sleep#1')
    expect(steps.filter((s) => s.endsWith('/fetch#1'))).toHaveLength(40)
    await engine.stop()
  })

  it('a failing item stops new items; the first error is thrown once the running ones finished', async () => {
    const started: number[] = []
    const wf = workflow.create({
      id: 'map-fail',
      async run({ step }) {
        return step
          .map(
            [0, 1, 2, 3, 4, 5],
            (i) =>
              step.run(
                'x',
                () => {
                  started.push(i)
                  if (i === 1) throw new Error('item 1 broke')
                  return i
                },
                { retry: false },
              ),
            { concurrency: 2 },
          )
          .catch((e: Error) => e.message)
      },
    })
    const engine = testEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toBe('item 1 broke')
    expect(started.length).toBeLessThan(6)
    await engine.stop()
  })
})
