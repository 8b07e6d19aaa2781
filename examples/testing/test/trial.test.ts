import { action, DoSdkError, ErrorCodes, memoryStore, type RunInfo, workflow } from '@do-sdk/core'
import { createTestEngine, virtualClock } from '@do-sdk/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { sendEmail, type TrialState, trial } from '../src/trial.js'
import { mockEmail } from './mock-email.js'

const customer = { accountId: 'acct_1', email: 'ada@example.com' }
const DAY = 86_400_000

// Every engine a test starts is stopped afterwards, even when an assertion failed half-way.
const engines: { stop(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

/** A test engine on a virtual clock and a memory store, with the email API mocked. */
const setup = async () => {
  const email = mockEmail()
  const engine = createTestEngine({ workflows: [trial], plugins: [email] })
  engines.push(engine)
  await engine.start()
  const run = await engine.trigger(trial, customer, { id: 'trial:acct_1' })
  // Run everything that is due now: the welcome email, then the wait for an upgrade.
  await engine.settle()
  const info = () => engine.getRun<unknown, TrialState>(run.id)
  return { engine, email, run, info }
}

const templates = (email: ReturnType<typeof mockEmail>) => email.sent.map((e) => e.template)
const stepIds = (run: RunInfo) => run.steps.map((s) => `${s.id} ${s.status}`)

describe('the trial workflow, on a virtual clock', () => {
  it('sends the welcome email at once, then waits for an upgrade', async () => {
    const { engine, email, info } = await setup()
    const run = await info()
    expect(run.status).toBe('waiting')
    expect(run.waitingFor).toEqual(['upgraded'])
    // The wait's deadline is 12 days after the start, on the virtual clock.
    expect(run.wakeAt).toBe(engine.clock.now() + 12 * DAY)
    expect(run.state).toEqual({ plan: 'trial', emails: ['welcome'], upgradedAt: null })
    expect(stepIds(run)).toEqual(['welcome#1 completed', 'setState#1 completed', 'wait:upgraded#1 waiting'])
    expect(email.sent).toEqual([
      {
        to: 'ada@example.com',
        template: 'welcome',
        idempotencyKey: 'trial:acct_1:welcome#1',
        attempt: 1,
        runId: 'trial:acct_1',
        stepId: 'welcome#1',
      },
    ])
  })

  it('lives through 14 days in a few milliseconds: a reminder on day 13, then the trial expires', async () => {
    const { engine, email, run, info } = await setup()
    const started = performance.now()

    await engine.advance(12 * DAY - 1)
    expect(templates(email)).toEqual(['welcome'])
    await engine.advance(1) // day 13 begins
    expect(templates(email)).toEqual(['welcome', 'trial-ending'])
    expect((await info()).status).toBe('waiting')

    await engine.advance('2d')
    const done = await info()
    expect(done.status).toBe('completed')
    expect(done.output).toEqual({ upgraded: false })
    expect(done.state).toEqual({ plan: 'expired', emails: ['welcome', 'trial-ending', 'trial-expired'], upgradedAt: null })
    expect(templates(email)).toEqual(['welcome', 'trial-ending', 'trial-expired'])
    await expect(run.result()).resolves.toEqual({ upgraded: false })
    // Two weeks of waiting, no real waiting: the clock is virtual.
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('stops waiting when the upgrade signal arrives, and sends no reminder', async () => {
    const { engine, email, info } = await setup()
    await engine.advance('5d')
    await engine.signal('trial:acct_1', 'upgraded', { plan: 'pro-monthly' })
    await engine.settle()

    const run = await info()
    expect(run.status).toBe('completed')
    expect(run.output).toEqual({ upgraded: true, plan: 'pro-monthly' })
    expect(run.state).toEqual({ plan: 'pro', emails: ['welcome', 'upgraded'], upgradedAt: engine.clock.now() })
    expect(stepIds(run)).toEqual([
      'welcome#1 completed',
      'setState#1 completed',
      'wait:upgraded#1 completed',
      'now#1 completed',
      'setState#2 completed',
      'upgraded#1 completed',
      'setState#3 completed',
    ])
    expect(run.steps.find((s) => s.id === 'wait:upgraded#1')!.output).toEqual({ plan: 'pro-monthly' })

    // Nothing left to fire: the reminder's day passes without an email.
    await engine.advance('30d')
    expect(templates(email)).toEqual(['welcome', 'upgraded'])
  })

  it('keeps a signal sent before the workflow waits for it', async () => {
    const email = mockEmail()
    const engine = createTestEngine({ workflows: [trial], plugins: [email] })
    engines.push(engine)
    await engine.start()
    const run = await engine.trigger(trial, customer, { id: 'trial:acct_1' })
    // The customer pays before the welcome email has even gone out.
    await engine.signal(run.id, 'upgraded', { plan: 'pro-yearly' })
    await engine.settle()
    expect(await run.result()).toEqual({ upgraded: true, plan: 'pro-yearly' })
    expect(templates(email)).toEqual(['welcome', 'upgraded'])
  })

  it('fails a run whose upgrade event does not match its schema, naming the field', async () => {
    const { engine, info } = await setup()
    await engine.signal('trial:acct_1', 'upgraded', { plan: 42 })
    await engine.settle()
    const run = await info()
    expect(run.status).toBe('failed')
    expect(run.error?.code).toBe(ErrorCodes.VALIDATION)
    expect(run.error?.message).toContain('plan')
  })

  it('refuses bad input with a ValidationError and writes nothing', async () => {
    const engine = createTestEngine({ workflows: [trial] })
    engines.push(engine)
    await engine.start()
    const error = await engine.trigger(trial, { accountId: '', email: 'nope' }, { id: 'trial:bad' }).catch((e: unknown) => e)
    expect(DoSdkError.hasCode(error, ErrorCodes.VALIDATION)).toBe(true)
    expect((error as { issues: { path: unknown[] }[] }).issues.map((i) => i.path)).toEqual([['accountId'], ['email']])
    expect((await engine.listRuns()).runs).toEqual([])
  })
})

describe('retries and crashes', () => {
  it('retries a failing email API on durable timers that advance() drives', async () => {
    const email = mockEmail()
    email.fail(2)
    const engine = createTestEngine({ workflows: [trial], plugins: [email] })
    engines.push(engine)
    await engine.start()
    const run = await engine.trigger(trial, customer, { id: 'trial:acct_1' })
    await engine.settle()

    let info = await engine.getRun(run.id)
    expect(info.status).toBe('sleeping')
    expect(info.steps[0]).toMatchObject({ id: 'welcome#1', status: 'retrying', attempts: 1, until: engine.clock.now() + 1_000 })
    await engine.advance('1s') // attempt 2 fails too; the delay doubles
    expect((await engine.getRun(run.id)).steps[0]).toMatchObject({ attempts: 2, until: engine.clock.now() + 2_000 })
    await engine.advance('2s')

    info = await engine.getRun(run.id)
    expect(info.status).toBe('waiting')
    expect(info.steps[0]).toMatchObject({ id: 'welcome#1', status: 'completed', attempts: 3 })
    // Every attempt of one step carries the same idempotency key.
    expect(email.sent).toEqual([expect.objectContaining({ template: 'welcome', attempt: 3, idempotencyKey: 'trial:acct_1:welcome#1' })])
  })

  it('re-attempts a step whose process died before the commit, with the same idempotency key', async () => {
    // Two engines on one store and one clock: a process, and the one that replaces it after it died.
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })

    const firstEmail = mockEmail()
    const first = createTestEngine({ workflows: [trial], plugins: [firstEmail], store, clock, crashBeforeCommit: 'welcome#1' })
    await first.start()
    await first.trigger(trial, customer, { id: 'trial:acct_1' })
    await first.settle()
    // The email API was called; the process died before the step's result was committed.
    expect(first.crashed).toBe(true)
    expect(firstEmail.sent).toEqual([expect.objectContaining({ template: 'welcome', idempotencyKey: 'trial:acct_1:welcome#1' })])

    const secondEmail = mockEmail()
    const second = createTestEngine({ workflows: [trial], plugins: [secondEmail], store, clock })
    engines.push(second)
    // The store holds nothing of the lost attempt: no committed step, no state change.
    const before = await second.getRun<unknown, TrialState>('trial:acct_1')
    expect(before.steps.filter((s) => s.status === 'completed')).toEqual([])
    expect(before.state.emails).toEqual([])

    // The memory store serves one engine at a time, so the new engine takes the dead one's runs at
    // once. (On a shared SQLite or Redis store, an engine with another id waits for the lease, 5 s.)
    await second.start()
    await second.settle()
    const after = await second.getRun<unknown, TrialState>('trial:acct_1')
    expect(after.status).toBe('waiting')
    expect(after.state.emails).toEqual(['welcome'])
    // At-least-once: the email was attempted again, with the key the API deduplicates on.
    expect(secondEmail.sent).toEqual([expect.objectContaining({ template: 'welcome', idempotencyKey: 'trial:acct_1:welcome#1' })])
    expect(after.steps.filter((s) => s.id === 'welcome#1')).toEqual([expect.objectContaining({ status: 'completed' })])

    // From here on, the run goes on in the second engine as if nothing happened.
    await second.signal('trial:acct_1', 'upgraded', { plan: 'pro-monthly' })
    await second.settle()
    expect((await second.getRun('trial:acct_1')).status).toBe('completed')
    expect([...firstEmail.sent, ...secondEmail.sent].map((e) => e.template)).toEqual(['welcome', 'welcome', 'upgraded'])
  })

  it('never runs a committed step again after a crash', async () => {
    const clock = virtualClock()
    const store = memoryStore({ now: clock.now })
    const firstEmail = mockEmail()
    // Crash while committing the reminder's state change: the reminder email itself was committed.
    const first = createTestEngine({
      workflows: [trial],
      plugins: [firstEmail],
      store,
      clock,
      engineId: 'worker-1',
      crashBeforeCommit: (step) => step.stepId === 'setState#2',
    })
    await first.start()
    await first.trigger(trial, customer, { id: 'trial:acct_1' })
    // settle() before advance(): the run must reach its wait before the clock moves, or the wait
    // would start 12 days late.
    await first.settle()
    await first.advance('12d')
    expect(first.crashed).toBe(true)
    expect(templates(firstEmail)).toEqual(['welcome', 'trial-ending'])

    // The same worker restarted. (The same engineId also lets it take its runs back at once on a
    // shared SQLite or Redis store, without waiting for its old lease.)
    const secondEmail = mockEmail()
    const second = createTestEngine({ workflows: [trial], plugins: [secondEmail], store, clock, engineId: 'worker-1' })
    engines.push(second)
    await second.start()
    await second.settle()
    const run = await second.getRun<unknown, TrialState>('trial:acct_1')
    expect(run.status).toBe('waiting')
    expect(run.state.emails).toEqual(['welcome', 'trial-ending'])
    expect(secondEmail.sent).toEqual([])
  })
})

describe('mocking an action with an interceptor', () => {
  it('still refuses input the real action would refuse', async () => {
    // A workflow with a bug: the address is not an email.
    const broken = workflow.create({
      id: 'broken-welcome',
      run: async ({ step }) => step.run(sendEmail, { to: 'ada at example.com', template: 'welcome' }),
    })
    const email = mockEmail()
    const engine = createTestEngine({ workflows: [broken], plugins: [email] })
    engines.push(engine)
    await engine.start()
    const run = await engine.trigger(broken, {})
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('failed')
    expect(info.error).toMatchObject({ code: ErrorCodes.VALIDATION })
    expect(info.error?.message).toContain('to: Invalid email address')
    expect(email.sent).toEqual([])
  })

  it('lets other actions through to their real implementation', async () => {
    const greet = action.create({ id: 'greet', description: 'Says hello.', execute: async ({ name }: { name: string }) => `hello ${name}` })
    const hello = workflow.create({ id: 'hello', run: async ({ step }) => step.run(greet, { name: 'Ada' }) })
    const email = mockEmail()
    const engine = createTestEngine({ workflows: [hello], plugins: [email] })
    engines.push(engine)
    await engine.start()
    const run = await engine.trigger(hello, {})
    await engine.settle()
    await expect(run.result()).resolves.toBe('hello Ada')
    expect(email.sent).toEqual([])
  })
})
