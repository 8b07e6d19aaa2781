import { definePlugin, type Plugin } from '@do-sdk/core'

/** A plugin that answers some actions itself, and the calls it answered. */
export interface MockActionsPlugin extends Plugin {
  readonly calls: { actionId: string; stepId: string; input: unknown }[]
}

/**
 * Wrap action: short-circuits the listed actions with a fake result, without calling `next()`, so
 * the real action never runs. The result is journaled like a real one. For tests.
 *
 * @example
 * ```ts
 * const mocks = mockActions({ 'email.send': () => ({ messageId: 'mock' }) })
 * const engine = createTestEngine({ workflows: [checkout], plugins: [mocks] })
 * ```
 */
export const mockActions = (mocks: Record<string, (input: unknown) => unknown>): MockActionsPlugin => {
  const calls: MockActionsPlugin['calls'] = []
  const plugin = definePlugin({
    name: 'example-mock-actions',
    setup(ctx) {
      ctx.wrap('action', async (c, next) => {
        const mock = mocks[c.action.id]
        if (!mock) return next()
        calls.push({ actionId: c.action.id, stepId: c.stepId, input: c.input })
        return mock(c.input)
      })
    },
  })
  return { ...plugin, calls }
}
