import { expect, it } from 'vitest'
import { action, workflow } from '../../src/index.js'
import { redactor } from '../../src/redact.js'
import { newStore, testEngine } from './fixtures.js'

it('redacts secret fields at any depth and leaves other values untouched', () => {
  const scrub = redactor(['password', /token$/i])
  const value = { user: { name: 'jane', password: 'hunter2' }, list: [{ apiToken: 'abc' }], keep: 1 }
  expect(scrub(value)).toEqual({ user: { name: 'jane', password: '[redacted]' }, list: [{ apiToken: '[redacted]' }], keep: 1 })
  expect(value.user.password).toBe('hunter2')
  const clean = { a: { b: 1 } }
  expect(scrub(clean)).toBe(clean)
})

it('keeps secret fields out of the store, hook payloads and step results, on the first run as on replay', async () => {
  const store = newStore()
  const login = action.create({
    id: 'login',
    description: 'Returns a session with a token.',
    execute: ({ user }: { user: string; password: string }) => ({ user, sessionToken: 'tok-123' }),
  })
  const wf = workflow.create({
    id: 'secretive',
    async run({ input, step }) {
      const session = await step.run(login, input as { user: string; password: string })
      return { seen: session }
    },
  })
  const engine = testEngine({ workflows: [wf], store, redact: ['password', /token/i] })
  const payloads: unknown[] = []
  engine.hooks.on('action:start', (e) => {
    payloads.push(e.input)
  })
  engine.hooks.on('step:complete', (e) => {
    payloads.push(e.output)
  })
  await engine.start()
  const run = await engine.trigger(wf, { user: 'jane', password: 'hunter2' })
  await engine.settle()
  expect(await run.result()).toEqual({ seen: { user: 'jane', sessionToken: '[redacted]' } })
  const everything = JSON.stringify(await store.list(''))
  expect(everything).not.toContain('hunter2')
  expect(everything).not.toContain('tok-123')
  expect(JSON.stringify(payloads)).not.toMatch(/hunter2|tok-123/)
  await engine.stop()
})
