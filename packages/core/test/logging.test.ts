// Failed runs are visible: one warning line by default; the lifecycle at DO_SDK_LOG=debug.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { consoleLogger, workflow } from '../src/index.js'
import { createTestEngine } from '../src/testing/index.js'

const capture = (method: 'warn' | 'debug') => {
  const lines: string[] = []
  vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '))
  })
  return lines
}

afterEach(() => vi.restoreAllMocks())

describe('logging', () => {
  it('a failed run prints one warning naming the run, the workflow, the step, the error and how to retry', async () => {
    const warns = capture('warn')
    const wf = workflow.create({
      id: 'checkout',
      async run({ step }) {
        await step.run(
          'charge',
          () => {
            throw new Error('card declined')
          },
          { retry: false },
        )
      },
    })
    const engine = createTestEngine({ workflows: [wf], logger: consoleLogger('warn') })
    await engine.start()
    const run = await engine.trigger(wf, undefined, { id: 'order-42' })
    await engine.settle()
    expect(warns).toHaveLength(1)
    expect(warns[0]).toMatch(/Run "order-42" of workflow "checkout" failed at step "charge#1": card declined/)
    expect(warns[0]).toMatch(/engine\.retry\("order-42"\)/)
    await run.result().catch(() => {})
    await engine.stop()
  })

  it('a quoted error message keeps its own tag but not a second "[do-sdk]"', () => {
    const warns = capture('warn')
    consoleLogger('warn').warn('Polling the store failed ([do-sdk] [redis] list failed: ECONNREFUSED); retrying')
    consoleLogger('warn').warn('[do-sdk] [sqlite] The store is closed.')
    expect(warns).toEqual([
      '[do-sdk] Polling the store failed ([redis] list failed: ECONNREFUSED); retrying',
      '[do-sdk] [sqlite] The store is closed.',
    ])
  })

  it('at debug level logs the lifecycle: start, each step done, suspend, resume, completion', async () => {
    const debug = capture('debug')
    const wf = workflow.create({
      id: 'nap',
      async run({ step }) {
        await step.run('before', () => 1)
        await step.sleep('1m')
        return step.run('after', () => 2)
      },
    })
    const engine = createTestEngine({ workflows: [wf], logger: consoleLogger('debug') })
    await engine.start()
    await engine.trigger(wf, undefined, { id: 'n1' })
    await engine.settle()
    await engine.advance('1m')
    const lines = debug.join('\n')
    for (const want of [
      /Run "n1" of workflow "nap" started/,
      /step "before#1" done/,
      /Run "n1" suspended \(sleeping/,
      /Run "n1" resumed/,
      /step "after#1" done/,
      /Run "n1" completed/,
    ])
      expect(lines).toMatch(want)
    await engine.stop()
  })

  it('at the default level prints nothing for a run that completes', async () => {
    const warns = capture('warn')
    const debug = capture('debug')
    const wf = workflow.create({ id: 'quiet', run: async ({ step }) => step.run('x', () => 1) })
    const engine = createTestEngine({ workflows: [wf], logger: consoleLogger('warn') })
    await engine.start()
    await engine.trigger(wf, undefined)
    await engine.settle()
    expect([...warns, ...debug]).toEqual([])
    await engine.stop()
  })
})
