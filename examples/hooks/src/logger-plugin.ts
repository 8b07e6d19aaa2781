import { definePlugin, type Plugin } from '@do-sdk/core'

/**
 * Observe: one log line per run and step event. Observers get read-only snapshots; a throwing
 * observer is reported on the `error` hook and never breaks the run.
 *
 * @example
 * ```ts
 * createEngine({ store, workflows, plugins: [loggerPlugin((line) => console.log(line))] })
 * ```
 */
export const loggerPlugin = (write: (line: string) => void = console.log): Plugin =>
  definePlugin({
    name: 'example-logger',
    setup(ctx) {
      ctx.on('workflow:start', (e) => write(`[${e.runId}] started ${e.workflowId}@${e.version}`))
      ctx.on('workflow:resume', (e) => write(`[${e.runId}] resumed after ${e.steps} steps`))
      ctx.on('workflow:suspend', (e) => write(`[${e.runId}] ${e.status}`))
      ctx.on('workflow:complete', (e) => write(`[${e.runId}] completed in ${e.durationMs}ms`))
      ctx.on('workflow:fail', (e) => write(`[${e.runId}] failed: ${e.error.message}`))
      ctx.on('step:complete', (e) => {
        if (!e.replayed) write(`[${e.runId}] step ${e.stepId} done`)
      })
      ctx.on('step:fail', (e) => write(`[${e.runId}] step ${e.stepId} failed: ${e.error.message}`))
      ctx.on('step:retry', (e) => write(`[${e.runId}] step ${e.stepId} retries in ${e.delayMs}ms`))
    },
  })
