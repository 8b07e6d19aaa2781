// docs/guides/signals-and-webhooks.md, sentence by sentence: each test is named in a `<!-- test: … -->` comment there.
import { join } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { action, createEngine, memoryStore, RunNotFoundError, silentLogger, workflow } from '../../src/index.js'
import { createTestEngine, virtualClock } from '../../src/testing/index.js'
import { tempDir } from '../engine/fixtures.js'
import { nextEvent, recordingStore } from './helpers.js'

const expenseInput = z.object({ expenseId: z.string(), amountCents: z.number().int() })
const decision = z.object({ approved: z.boolean(), by: z.string().min(1) })
const notified: string[] = []
const notifyApprover = action.create({
  id: 'notify-approver',
  description: 'Asks the approver to approve or reject an expense.',
  input: z.object({ expenseId: z.string(), reminder: z.boolean() }),
  execute: async ({ expenseId, reminder }) => {
    notified.push(`${reminder ? 'Reminder: ' : ''}please approve expense ${expenseId}`)
    return { sent: true }
  },
})
const expenseApproval = workflow.create({
  id: 'expense-approval',
  input: expenseInput,
  async run({ input, step }) {
    await step.run(notifyApprover, { expenseId: input.expenseId, reminder: false })
    let answer = await step.waitForEvent('decision', { timeout: '2d', schema: decision })
    if (answer === null) {
      await step.run(notifyApprover, { expenseId: input.expenseId, reminder: true })
      answer = await step.waitForEvent('decision', { timeout: '3d', schema: decision })
    }
    return answer ?? { approved: false, by: 'nobody (timed out)' }
  },
})

/** A workflow that waits for `count` signals named `name`, and returns their payloads. */
const collector = (id: string, count: number, before?: 'sleep') =>
  workflow.create({
    id,
    async run({ step }) {
      if (before) await step.sleep('1h')
      const got: unknown[] = []
      for (let i = 0; i < count; i++) got.push(await step.waitForEvent('item'))
      return got
    },
  })

describe('Signals are durable', () => {
  it('a signal sent before the run waits is kept until the wait takes it', async () => {
    const wf = collector('early', 1, 'sleep')
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await engine.signal(run.id, 'item', 'early')).toBe(true)
    await engine.settle()
    expect(await run.status()).toBe('sleeping')
    await engine.advance('1h')
    await expect(run.result()).resolves.toEqual(['early'])
    await engine.stop()
  })

  it('a signal sent while no engine runs is delivered when one starts', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = collector('offline', 1)
    const first = createTestEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined, { id: 'off' })
    await first.settle()
    await first.stop()
    const sender = createTestEngine({ workflows: [wf], store, clock }) // never started
    expect(await sender.signal(run.id, 'item', 'while nobody runs')).toBe(true)
    const next = createTestEngine({ workflows: [wf], store, clock })
    await next.start()
    await next.settle()
    await expect(next.handle(run.id, wf.id).result()).resolves.toEqual(['while nobody runs'])
    await next.stop()
  })

  it('signals to one run are delivered in the order they were sent', async () => {
    const wf = collector('ordered', 3, 'sleep')
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    for (const n of [1, 2, 3]) await engine.signal(run.id, 'item', n)
    await engine.advance('1h')
    await expect(run.result()).resolves.toEqual([1, 2, 3])
    expect((await engine.getRun(run.id)).steps.map((s) => s.id).slice(1)).toEqual(['wait:item#1', 'wait:item#2', 'wait:item#3'])
    await engine.stop()
  })
})

describe('Example: an approval with a reminder', () => {
  it('the approval example: a decision before the reminder ends the run with it', async () => {
    notified.length = 0
    const engine = createTestEngine({ workflows: [expenseApproval] })
    await engine.start()
    const run = await engine.trigger(expenseApproval, { expenseId: 'exp_1', amountCents: 4200 }, { id: 'expense:exp_1' })
    await engine.settle()
    await engine.advance('1d')
    await engine.signal(run.id, 'decision', { approved: true, by: 'ana' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ approved: true, by: 'ana' })
    expect(notified).toEqual(['please approve expense exp_1'])
    await engine.stop()
  })

  it('the approval example: no decision in 2 days sends a reminder, and 3 more days end it as timed out', async () => {
    notified.length = 0
    const engine = createTestEngine({ workflows: [expenseApproval] })
    await engine.start()
    const run = await engine.trigger(expenseApproval, { expenseId: 'exp_2', amountCents: 100 })
    await engine.settle()
    await engine.advance('2d')
    expect(notified).toEqual(['please approve expense exp_2', 'Reminder: please approve expense exp_2'])
    await engine.advance('3d')
    await expect(run.result()).resolves.toEqual({ approved: false, by: 'nobody (timed out)' })
    await engine.stop()
  })

  it('a second trigger for the same expense returns the first run', async () => {
    const engine = createTestEngine({ workflows: [expenseApproval] })
    await engine.start()
    const first = await engine.trigger(expenseApproval, { expenseId: 'exp_3', amountCents: 1 }, { id: 'expense:exp_3' })
    const second = await engine.trigger(expenseApproval, { expenseId: 'exp_3', amountCents: 999 }, { id: 'expense:exp_3' })
    expect(second.id).toBe(first.id)
    expect((await engine.getRun(first.id)).input).toEqual({ expenseId: 'exp_3', amountCents: 1 })
    expect((await engine.listRuns()).runs).toHaveLength(1)
    await engine.stop()
  })
})

describe('engine.signal(runId, name, payload?)', () => {
  it('signal resolves true once stored, without waiting for the run to take it', async () => {
    const wf = collector('stored', 1, 'sleep')
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    expect(await engine.signal(run.id, 'item', 'x')).toBe(true)
    expect((await engine.getRun(run.id)).steps.map((s) => s.id)).toEqual(['sleep#1']) // not taken yet
    await engine.stop()
  })

  it('a signal name must be 1 to 200 characters not starting with $, and the run must exist', async () => {
    const wf = collector('names', 1)
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    for (const bad of ['', 'x'.repeat(201), '$cancel'])
      await expect(engine.signal(run.id, bad)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(await engine.signal(run.id, 'x'.repeat(200))).toBe(true)
    await expect(engine.signal('no-such-run', 'item')).rejects.toBeInstanceOf(RunNotFoundError)
    await engine.stop()
  })

  it('a payload may be any storable value or nothing, and its redacted fields are stored as [redacted]', async () => {
    const wf = collector('payloads', 3)
    const engine = createTestEngine({ workflows: [wf], redact: ['secret'] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'item')
    await engine.signal(run.id, 'item', { at: new Date(0), ids: new Set([1]) })
    await engine.signal(run.id, 'item', { secret: 'hunter2', user: 'ana' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual([undefined, { at: new Date(0), ids: new Set([1]) }, { secret: '[redacted]', user: 'ana' }])
    await engine.stop()
  })

  it('a signal wakes a run of this process at once, without waiting for a poll', async () => {
    const wf = collector('prompt', 1)
    const engine = createEngine({ store: memoryStore(), workflows: [wf], logger: silentLogger, keepAlive: false, pollInterval: '1h' })
    await engine.start()
    const suspended = nextEvent(engine, 'workflow:suspend')
    const run = await engine.trigger(wf, undefined)
    await suspended
    await engine.signal(run.id, 'item', 'now')
    await expect(run.result()).resolves.toEqual(['now'])
    await engine.stop()
  })

  it('a process that only sends signals needs an engine on the same store, not engine.start()', async () => {
    const path = join(tempDir('do-docs-signals-'), 'runs.db')
    const wf = collector('web-tier', 1)
    const stores = [sqliteStore({ path }), sqliteStore({ path })]
    const worker = createEngine({ store: stores[0] as never, workflows: [wf], logger: silentLogger, keepAlive: false, pollInterval: 20 })
    const web = createEngine({ store: stores[1] as never, logger: silentLogger, keepAlive: false }) // never started
    await worker.start()
    const suspended = nextEvent(worker, 'workflow:suspend')
    const run = await worker.trigger(wf, undefined)
    await suspended
    expect(await web.signal(run.id, 'item', 'from the web tier')).toBe(true)
    await expect(run.result()).resolves.toEqual(['from the web tier'])
    await worker.stop()
    for (const s of stores) await s.close?.()
  })

  it('signal resolves false and stores nothing when the run has finished', async () => {
    const { store, control } = recordingStore(memoryStore())
    const wf = collector('finished', 0)
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const before = control.batches.length
    expect(await engine.signal(run.id, 'item', 'late')).toBe(false)
    expect(control.batches.length).toBe(before)
    await engine.stop()
  })

  it('signal resolves false, storing nothing, when the run finishes between its read and its write', async () => {
    const inner = memoryStore()
    const { store, control } = recordingStore(inner)
    const wf = collector('racing', 1)
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'race' })
    await engine.settle()
    let finished = false
    control.beforeBatch = async (ops) => {
      if (finished || !ops.some((o) => o.key.startsWith('sig/'))) return
      finished = true
      // The run ends (elsewhere) after engine.signal read it and before its write lands.
      const got = await inner.get('run/race')
      const record = JSON.parse(got?.value as string)
      await inner.batch([{ op: 'set', key: 'run/race', value: JSON.stringify({ ...record, status: 'completed', output: [] }) }])
    }
    expect(await engine.signal(run.id, 'item', 'too late')).toBe(false)
    expect(await inner.list('sig/')).toEqual([])
    await engine.stop()
  })
})

describe('step.waitForEvent(name, { timeout?, schema?, id? })', () => {
  it('a waiting run is waiting with the name in waitingFor, and no process holds it', async () => {
    const wf = collector('waits', 1)
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info).toMatchObject({ status: 'waiting', waitingFor: ['item'] })
    expect(info.owner).toBeUndefined()
    await engine.stop()
  })

  it('waitForEvent refuses an empty name or one starting with $', async () => {
    const wf = workflow.create({
      id: 'bad-wait-names',
      async run({ step }) {
        const codes: unknown[] = []
        for (const name of ['', '$cancel']) codes.push(await step.waitForEvent(name).catch((e: { code?: string }) => e.code))
        return codes
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await expect(run.result()).resolves.toEqual(['ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT'])
    await engine.stop()
  })

  it('a wait timeout resolves null when no signal came in time', async () => {
    const wf = workflow.create({ id: 'times-out', run: ({ step }) => step.waitForEvent('never', { timeout: '30d' }) })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.advance('29d')
    expect(await run.status()).toBe('waiting')
    await engine.advance('1d')
    await expect(run.result()).resolves.toBeNull()
    await engine.stop()
  })

  it('a signal sent after the deadline is not taken, even if the run has not woken yet', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const wf = workflow.create({ id: 'deadline', run: ({ step }) => step.waitForEvent('answer', { timeout: '1h' }) })
    const first = createTestEngine({ workflows: [wf], store, clock })
    await first.start()
    const run = await first.trigger(wf, undefined)
    await first.settle()
    await first.stop() // nobody runs the run: it cannot wake at its deadline
    clock.advance(2 * 3_600_000)
    const next = createTestEngine({ workflows: [wf], store, clock })
    expect(await next.signal(run.id, 'answer', 'too late')).toBe(true) // stored, the run is not finished
    await next.start()
    await next.settle()
    await expect(next.handle(run.id, wf.id).result()).resolves.toBeNull()
    await next.stop()
  })

  it('a payload that fails the schema is consumed and the wait throws a ValidationError; the workflow can wait again', async () => {
    const wf = workflow.create({
      id: 'checked',
      async run({ step }) {
        for (;;) {
          try {
            return await step.waitForEvent('decision', { schema: decision })
          } catch (error) {
            if ((error as { code?: string }).code !== 'ERR_VALIDATION') throw error
          }
        }
      },
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'decision', { approved: 'yes' })
    await engine.signal(run.id, 'decision', { approved: true, by: 'ana' })
    await engine.settle()
    await expect(run.result()).resolves.toEqual({ approved: true, by: 'ana' })
    expect((await engine.getRun(run.id)).steps.map((s) => [s.id, s.status])).toEqual([
      ['wait:decision#1', 'failed'],
      ['wait:decision#2', 'completed'],
    ])
    await engine.stop()
  })

  it('each signal is taken by one wait, once: the wait entry and the deletion of the signal are written together', async () => {
    const { store, control } = recordingStore(memoryStore())
    const wf = collector('once', 2)
    const engine = createTestEngine({ workflows: [wf], store })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'item', 'a')
    await engine.settle()
    const signalKey = control.batches.flat().find((o) => o.op === 'set' && o.key.startsWith('sig/'))?.key
    const taking = control.batches.filter((ops) => ops.some((o) => o.op === 'delete' && o.key === signalKey))
    expect(taking).toHaveLength(1)
    expect(taking[0]?.some((o) => o.op === 'set' && o.key.startsWith('jrn/') && o.value.includes(signalKey as string))).toBe(true)
    expect(await run.status()).toBe('waiting') // the second wait did not take the same signal
    await engine.stop()
  })

  it('a wait that lost a Promise.race stays pending, and each round of a loop takes its own signal', async () => {
    const wf = workflow.create({
      id: 'approvals',
      async run({ step }) {
        const rounds: string[] = []
        for (let round = 0; round < 3; round++) {
          rounds.push(
            await Promise.race([step.waitForEvent('approve').then(() => 'approve'), step.waitForEvent('reject').then(() => 'reject')]),
          )
          await step.sleep('1m') // each round also resumes from a replay
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
      await engine.advance('1m')
    }
    await expect(run.result()).resolves.toEqual(['reject', 'approve', 'approve'])
    const steps = (await engine.getRun(run.id)).steps
    expect(steps.filter((s) => s.status === 'waiting').map((s) => s.id)).toEqual(['wait:approve#1', 'wait:reject#2', 'wait:reject#3'])
    await engine.stop()
  })

  it('waits for one name started at the same point take signals in the order they were started', async () => {
    const wf = workflow.create({
      id: 'two-waits',
      run: ({ step }) => Promise.all([step.waitForEvent('item'), step.waitForEvent('item')]),
    })
    const engine = createTestEngine({ workflows: [wf] })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'item', 1)
    await engine.signal(run.id, 'item', 2)
    await engine.settle()
    await expect(run.result()).resolves.toEqual([1, 2])
    await engine.stop()
  })
})

describe('Rules and edge cases', () => {
  it('signals no wait takes stay in the store until the run is removed', async () => {
    const inner = memoryStore()
    const wf = collector('duplicates', 1)
    const engine = createTestEngine({ workflows: [wf], store: inner, retention: '1d' })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    await engine.signal(run.id, 'item', { eventId: 'evt_1' })
    await engine.signal(run.id, 'item', { eventId: 'evt_1' }) // the provider retried the webhook
    await engine.settle()
    await expect(run.result()).resolves.toEqual([{ eventId: 'evt_1' }])
    expect(await inner.list('sig/')).toHaveLength(1)
    expect(await engine.signal(run.id, 'item', { eventId: 'evt_1' })).toBe(false)
    await engine.advance('1d')
    expect(await inner.list('sig/')).toEqual([])
    await engine.stop()
  })

  it('cancel of a waiting or sleeping run takes effect at once, from an engine that is not started', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const waits = collector('to-cancel', 1)
    const sleeps = collector('to-cancel-too', 1, 'sleep')
    const engine = createTestEngine({ workflows: [waits, sleeps], store, clock })
    await engine.start()
    const a = await engine.trigger(waits, undefined)
    const b = await engine.trigger(sleeps, undefined)
    await engine.settle()
    await engine.stop()
    const other = createTestEngine({ store, clock }) // not started, no workflows
    await other.cancel(a.id, 'no longer needed')
    await other.cancel(b.id)
    expect((await other.getRun(a.id)).status).toBe('cancelled')
    expect((await other.getRun(b.id)).status).toBe('cancelled')
  })
})
