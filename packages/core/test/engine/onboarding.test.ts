import { describe, expect, it } from 'vitest'
import { virtualClock } from '../../src/engine/clock.js'
import { jane, makeOnboarding, newStore, testEngine } from './fixtures.js'

describe('the onboarding story', () => {
  it('runs end to end: email, state, wait for the click, sleep, profile', async () => {
    const { calls, onboarding } = makeOnboarding()
    const engine = testEngine({ workflows: [onboarding] })
    await engine.start()
    const run = await engine.trigger(onboarding, jane, { id: 'onboarding:usr_12345' })
    await engine.settle()
    let info = await engine.getRun(run.id)
    expect(info.status).toBe('waiting')
    expect(info.waitingFor).toEqual(['email.clicked'])
    expect(info.state).toEqual({ userId: 'usr_12345', status: 'email_sent', welcomeEmailSent: true, profileSetup: false })
    expect(calls.email).toEqual([{ key: 'onboarding:usr_12345:send-welcome-email#1', attempt: 1 }])

    await engine.signal(run.id, 'email.clicked', { at: 1 })
    await engine.settle()
    info = await engine.getRun(run.id)
    expect(info.status).toBe('sleeping')
    expect(info.wakeAt).toBe(engine.clock.now() + 3_600_000)

    await engine.advance('59m')
    expect((await engine.getRun(run.id)).status).toBe('sleeping')
    await engine.advance('1m')
    info = await engine.getRun(run.id)
    expect(info.status).toBe('completed')
    expect(info.output).toEqual({ clicked: true, profileId: 'prof-usr_12345' })
    expect(info.state).toMatchObject({ status: 'active', profileSetup: true })
    expect(info.steps.map((s) => [s.id, s.status])).toEqual([
      ['send-welcome-email#1', 'completed'],
      ['setState#1', 'completed'],
      ['wait:email.clicked#1', 'completed'],
      ['sleep#1', 'completed'],
      ['create-profile#1', 'completed'],
      ['setState#2', 'completed'],
    ])
    expect(calls.email).toHaveLength(1)
    expect(calls.profile).toBe(1)
    await expect(run.result()).resolves.toEqual({ clicked: true, profileId: 'prof-usr_12345' })
    await engine.stop()
  })

  it('survives a crash in the middle of the wait and of the sleep: a new engine on the same store finishes', async () => {
    const { calls, onboarding } = makeOnboarding()
    const clock = virtualClock()
    const store = newStore(clock)
    const first = testEngine({ workflows: [onboarding], store, clock })
    await first.start()
    const run = await first.trigger(onboarding, jane, { id: 'onboarding:usr_12345' })
    await first.settle()
    expect((await first.getRun(run.id)).status).toBe('waiting')
    first.kill()

    // The click arrives while no engine runs: it is buffered.
    const second = testEngine({ workflows: [onboarding], store, clock })
    await second.signal(run.id, 'email.clicked', { at: 2 })
    await second.start()
    await second.settle()
    expect((await second.getRun(run.id)).status).toBe('sleeping')
    await second.advance('30m')
    second.kill()

    const third = testEngine({ workflows: [onboarding], store, clock })
    await third.start()
    await third.advance('30m')
    const info = await third.getRun(run.id)
    expect(info.status).toBe('completed')
    expect(calls.email).toHaveLength(1)
    expect(calls.profile).toBe(1)
    await third.stop()
  })

  it('times out the wait after 3 days and goes on with null', async () => {
    const { onboarding } = makeOnboarding()
    const engine = testEngine({ workflows: [onboarding] })
    await engine.start()
    const run = await engine.trigger(onboarding, jane)
    await engine.settle()
    await engine.advance('3d')
    await engine.advance('1h')
    const info = await engine.getRun(run.id)
    expect(info.status).toBe('completed')
    expect(info.output).toEqual({ clicked: false, profileId: 'prof-usr_12345' })
    await engine.stop()
  })
})
