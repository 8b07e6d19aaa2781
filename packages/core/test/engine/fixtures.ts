import { z } from 'zod'
import { action, workflow } from '../../src/index.js'

/** The seed's onboarding story, with counters to prove what ran how often. */
export const makeOnboarding = () => {
  const calls = { email: [] as { key: string; attempt: number }[], profile: 0 }
  const sendWelcomeEmail = action.create({
    id: 'send-welcome-email',
    description: 'Sends a welcome email to a new user.',
    input: z.object({ email: z.string().email(), name: z.string() }),
    output: z.object({ success: z.boolean(), messageId: z.string() }),
    retry: { retries: 2, minTimeout: 1_000 },
    execute: async (_input, { idempotencyKey, attempt }) => {
      calls.email.push({ key: idempotencyKey, attempt })
      return { success: true, messageId: `msg-${idempotencyKey}` }
    },
  })
  const createProfile = action.create({
    id: 'create-profile',
    description: 'Creates the profile record.',
    input: z.object({ userId: z.string() }),
    execute: async ({ userId }) => {
      calls.profile++
      return { profileId: `prof-${userId}` }
    },
  })
  const onboarding = workflow.create({
    id: 'user-onboarding',
    input: z.object({ userId: z.string(), email: z.string(), name: z.string() }),
    state: z.object({ userId: z.string(), status: z.string(), welcomeEmailSent: z.boolean(), profileSetup: z.boolean() }),
    initialState: ({ userId }) => ({ userId, status: 'registered', welcomeEmailSent: false, profileSetup: false }),
    async run({ input, state, step }) {
      if (!state.welcomeEmailSent) {
        await step.run(sendWelcomeEmail, { email: input.email, name: input.name })
        await step.setState({ status: 'email_sent', welcomeEmailSent: true })
      }
      const click = await step.waitForEvent<{ at: number }>('email.clicked', { timeout: '3d' })
      await step.sleep('1h')
      const profile = await step.run(createProfile, { userId: input.userId })
      await step.setState({ status: 'active', profileSetup: true })
      return { clicked: click !== null, profileId: profile.profileId }
    },
  })
  return { calls, sendWelcomeEmail, createProfile, onboarding }
}

export const jane = { userId: 'usr_12345', email: 'jane.doe@example.com', name: 'Jane Doe' }

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, onTestFinished } from 'vitest'
import { type VirtualClock, virtualClock } from '../../src/engine/clock.js'
import type { Datastore } from '../../src/index.js'
import { memoryStore } from '../../src/index.js'
import { createTestEngine, type TestEngineOptions } from '../../src/testing/test-engine.js'

/**
 * The engine suite runs on every adapter: `DO_SDK_ENGINE_STORE` = memory (default) | keyv | sqlite | redis
 * (vitest.config.ts defines one project per adapter). Each call gives a fresh, empty store.
 */
export const storeKind = process.env.DO_SDK_ENGINE_STORE ?? 'memory'
let counter = 0
type Factory = (clock?: VirtualClock) => Datastore
let factory: Factory = (clock) => memoryStore(clock ? { now: clock.now } : {})
export const setStoreFactory = (f: Factory) => {
  factory = f
}
export const newStore = (clock?: VirtualClock): Datastore => factory(clock)
export const uniqueName = () => `t${process.pid}x${++counter}x${Math.random().toString(36).slice(2, 8)}`
/** A new temp folder, removed when the test that made it ends (made outside a test: when its file's tests end). */
export const tempDir = (prefix = 'do-engine-') => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const remove = () => rmSync(dir, { recursive: true, force: true })
  try {
    onTestFinished(remove)
  } catch {
    afterAll(remove) // not inside a test: vitest refuses onTestFinished
  }
  return dir
}

/** A test engine on the suite's store kind; engines in one test share an id, as one restarted process would. */
export const testEngine = (options: TestEngineOptions = {}) => {
  const clock = options.clock ?? virtualClock()
  return createTestEngine({ engineId: 'test-engine', ...options, clock, store: options.store ?? newStore(clock) })
}
