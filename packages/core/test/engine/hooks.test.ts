import { describe, expect, it } from 'vitest'
import { virtualClock } from '../../src/engine/clock.js'
import { action, definePlugin, HookError, NonRetryableError, workflow } from '../../src/index.js'
import { newStore, testEngine } from './fixtures.js'

const greet = action.create({ id: 'greet', description: 'Greets.', retry: false, execute: ({ name }: { name: string }) => `hello ${name}` })
const greeter = workflow.create({
  id: 'greeter',
  async run({ step }) {
    const a = await step.run(greet, { name: 'jane' })
    await step.waitForEvent('go')
    return a
  },
})

describe('observers', () => {
  it('see every lifecycle event in order, with replayed steps marked', async () => {
    const clock = virtualClock()
    const store = newStore(clock)
    const events: string[] = []
    const record = (engine: ReturnType<typeof testEngine>) => {
      for (const name of [
        'workflow:start',
        'workflow:resume',
        'workflow:suspend',
        'workflow:complete',
        'step:start',
        'step:complete',
        'action:start',
        'action:complete',
        'signal:receive',
      ] as const) {
        engine.hooks.on(name, (e) => {
          const step = 'stepId' in e ? ` ${e.stepId}${e.replayed ? ' (replayed)' : ''}` : ''
          events.push(`${name}${step}`)
        })
      }
    }
    const first = testEngine({ workflows: [greeter], store, clock })
    record(first)
    await first.start()
    const run = await first.trigger(greeter, undefined)
    await first.settle()
    await first.stop()
    const second = testEngine({ workflows: [greeter], store, clock })
    record(second)
    await second.start()
    await second.signal(run.id, 'go')
    await second.settle()
    expect(events.slice(0, 6)).toEqual([
      'workflow:start',
      'step:start greet#1',
      'action:start greet#1',
      'action:complete greet#1',
      'step:complete greet#1',
      'workflow:suspend',
    ])
    expect(events.slice(6)).toEqual([
      'workflow:resume',
      'step:complete greet#1 (replayed)',
      'signal:receive',
      'step:complete wait:go#1',
      'workflow:complete',
    ])
    await second.stop()
  })

  it('a throwing or slow observer is reported and never breaks or stalls the run', async () => {
    const engine = testEngine({ workflows: [greeter] })
    const errors: string[] = []
    engine.hooks.on('step:complete', () => {
      throw new Error('observer bug')
    })
    engine.hooks.on('step:start', () => new Promise(() => {}))
    engine.hooks.on('error', (e) => {
      errors.push(`${e.source}: ${e.error.message}`)
    })
    await engine.start()
    const run = await engine.trigger(greeter, undefined)
    await engine.signal(run.id, 'go')
    await engine.settle()
    await expect(run.result()).resolves.toBe('hello jane')
    expect(errors).toContain('observer:step:complete: observer bug')
    await engine.stop()
  })

  it('refuses unknown hook names and returns an unregister function', () => {
    const engine = testEngine({ workflows: [greeter] })
    expect(() => engine.hooks.on('step:done' as never, () => {})).toThrow(HookError)
    const hooks = engine.hooks as unknown as { has(name: string): boolean }
    const off = engine.hooks.on('step:start', () => {})
    expect(hooks.has('step:start')).toBe(true)
    off()
    expect(hooks.has('step:start')).toBe(false)
  })
})

describe('interceptors', () => {
  const runWith = async (plugin: ReturnType<typeof definePlugin>) => {
    const engine = testEngine({ workflows: [greeter], plugins: [plugin] })
    await engine.start()
    const run = await engine.trigger(greeter, undefined)
    await engine.signal(run.id, 'go')
    await engine.settle()
    return { engine, run, info: await engine.getRun(run.id) }
  }

  it('wrap in registration order (first is outermost) and can change input and output', async () => {
    const order: string[] = []
    const { info } = await runWith(
      definePlugin({
        name: 'shout',
        setup(ctx) {
          ctx.wrap('action', async (c, next) => {
            order.push('outer:before')
            const out = await next({ name: `${(c.input as { name: string }).name}!` })
            order.push('outer:after')
            return String(out).toUpperCase()
          })
          ctx.wrap('action', async (_c, next) => {
            order.push('inner')
            return next()
          })
        },
      }),
    )
    expect(order).toEqual(['outer:before', 'inner', 'outer:after'])
    expect(info.output).toBe('HELLO JANE!')
  })

  it('can short-circuit with a result (a test mock) without calling the action', async () => {
    let calls = 0
    const mock = definePlugin({
      name: 'mock',
      setup(ctx) {
        ctx.wrap('action', async (c, next) => (c.action.id === 'greet' ? 'mocked' : next()))
        ctx.on('action:start', () => {
          calls++
        })
      },
    })
    const { info } = await runWith(mock)
    expect(info.output).toBe('mocked')
    expect(calls).toBe(1)
  })

  it('a veto is recorded on the step and the run like any failure', async () => {
    const { info } = await runWith(
      definePlugin({
        name: 'authz',
        setup(ctx) {
          ctx.wrap('step', async (c, next) => {
            if (c.stepId.startsWith('greet')) throw new NonRetryableError('not allowed to greet')
            return next()
          })
        },
      }),
    )
    expect(info.status).toBe('failed')
    expect(info.steps[0]).toMatchObject({ id: 'greet#1', status: 'failed', error: { code: 'ERR_NON_RETRYABLE' } })
    expect(info.error?.message).toMatch(/not allowed to greet/)
  })

  it('calling next() twice is an error', async () => {
    const { info } = await runWith(
      definePlugin({
        name: 'twice',
        setup(ctx) {
          ctx.wrap('action', async (_c, next) => {
            await next()
            return next()
          })
        },
      }),
    )
    expect(info.status).toBe('failed')
    expect(info.error?.message).toMatch(/next\(\) twice/)
  })

  it('closes plugin registration after start()', async () => {
    let saved: Parameters<Parameters<typeof definePlugin>[0]['setup']>[0] | undefined
    const engine = testEngine({ workflows: [greeter], plugins: [definePlugin({ name: 'late', setup: (ctx) => void (saved = ctx) })] })
    await engine.start()
    expect(() => saved?.on('step:start', () => {})).toThrowError(/closed after engine.start/)
    expect(() => engine.hooks.wrap('step', (_c, n) => n())).toThrow(HookError)
    await engine.stop()
  })
})

describe('interceptors and schemas', () => {
  it('interceptors see validated input, and a short-circuit result is validated like the real one', async () => {
    const { z } = await import('zod')
    const typed = action.create({
      id: 'typed',
      description: 'Typed.',
      retry: false,
      input: z.object({ n: z.coerce.number() }),
      output: z.object({ doubled: z.number() }),
      execute: ({ n }) => ({ doubled: n * 2 }),
    })
    const wf = workflow.create({ id: 'typed-wf', run: async ({ step }) => step.run(typed, { n: '21' as never }) })
    const seen: unknown[] = []
    const engine = testEngine({
      workflows: [wf],
      plugins: [
        definePlugin({
          name: 'bad-mock',
          setup(ctx) {
            ctx.wrap('action', async (c) => {
              seen.push(c.input)
              return { doubled: 'lots' }
            })
          },
        }),
      ],
    })
    await engine.start()
    const run = await engine.trigger(wf, undefined)
    await engine.settle()
    const info = await engine.getRun(run.id)
    expect(seen).toEqual([{ n: 21 }])
    expect(info.status).toBe('failed')
    expect(info.error?.code).toBe('ERR_VALIDATION')
    expect(info.error?.message).toMatch(/output of action "typed"/)
    await engine.stop()
  })
})
