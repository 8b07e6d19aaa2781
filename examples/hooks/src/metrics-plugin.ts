import { definePlugin, type Plugin } from '@do-sdk/core'

/** A metrics plugin and the counters it keeps. */
export interface MetricsPlugin extends Plugin {
  /** Counter name → value, e.g. `runs.completed`, `steps.completed.action`, `actions.email.send.attempts`. */
  readonly counters: Map<string, number>
}

/**
 * Observe: counts runs, steps and action attempts. In an app, `inc` would call your metrics client
 * (Prometheus, StatsD); the counting logic is the same.
 *
 * @example
 * ```ts
 * const metrics = metricsPlugin()
 * createEngine({ store, workflows, plugins: [metrics] })
 * // later: metrics.counters.get('runs.failed')
 * ```
 */
export const metricsPlugin = (): MetricsPlugin => {
  const counters = new Map<string, number>()
  const inc = (name: string): void => {
    counters.set(name, (counters.get(name) ?? 0) + 1)
  }
  const plugin = definePlugin({
    name: 'example-metrics',
    setup(ctx) {
      ctx.on('workflow:start', () => inc('runs.started'))
      ctx.on('workflow:complete', () => inc('runs.completed'))
      ctx.on('workflow:fail', () => inc('runs.failed'))
      ctx.on('step:complete', (e) => {
        if (!e.replayed) inc(`steps.completed.${e.kind}`)
      })
      ctx.on('step:fail', (e) => inc(`steps.failed.${e.kind}`))
      ctx.on('step:retry', () => inc('steps.retried'))
      ctx.on('action:start', (e) => inc(`actions.${e.actionId}.attempts`))
    },
  })
  return { ...plugin, counters }
}
