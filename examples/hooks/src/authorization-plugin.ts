import { type ActionInterceptorContext, definePlugin, NonRetryableError, type Plugin } from '@do-sdk/core'

/** Returns why the attempt is refused, or `undefined` to let it run. */
export type Policy = (ctx: ActionInterceptorContext) => string | undefined

/**
 * Wrap action: vetoes an action attempt before it runs by throwing. A `NonRetryableError` fails the
 * step at once (a plain error would be retried by the action's policy); the run fails unless the
 * workflow catches it.
 *
 * @example
 * ```ts
 * const limit = authorizationPlugin((c) =>
 *   c.action.id === 'payments.charge' && (c.input as { amount: number }).amount > 500 ? 'over the 500 limit' : undefined,
 * )
 * ```
 */
export const authorizationPlugin = (policy: Policy): Plugin =>
  definePlugin({
    name: 'example-authorization',
    setup(ctx) {
      ctx.wrap('action', async (c, next) => {
        const refusal = policy(c)
        if (refusal !== undefined) throw new NonRetryableError(`Action "${c.action.id}" refused in run "${c.runId}": ${refusal}`)
        return next()
      })
    },
  })
