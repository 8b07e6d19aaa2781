import type { Action } from './action.js'
import { InvalidArgumentError } from './errors.js'
import type { HookRegistry } from './hooks/types.js'
import type { Logger } from './logger.js'

/** What a plugin's `setup` receives: the engine's registration surface. Closed after `engine.start()`. */
export interface PluginContext extends HookRegistry {
  /** Makes an action known to the engine (listed by `engine.actions()`, usable by id). */
  registerAction(action: Action): void
  /** The engine's logger. */
  log: Logger
}

/** A bundle of hooks, interceptors and actions. An action pack is a plugin. */
export interface Plugin {
  /** Unique name, e.g. `@do-sdk/actions-http`. */
  name: string
  setup(ctx: PluginContext): void | Promise<void>
}

/**
 * Defines a plugin; validates its shape at once.
 *
 * @example
 * ```ts
 * export const auditPlugin = definePlugin({
 *   name: 'audit',
 *   setup(ctx) {
 *     ctx.on('step:complete', (e) => audit.write(e.runId, e.stepId))
 *   },
 * })
 * ```
 */
export const definePlugin = (plugin: Plugin): Plugin => {
  if (typeof plugin !== 'object' || plugin === null) throw new InvalidArgumentError('definePlugin needs an object { name, setup }')
  if (typeof plugin.name !== 'string' || plugin.name.trim() === '') throw new InvalidArgumentError('A plugin needs a non-empty name')
  if (typeof plugin.setup !== 'function') throw new InvalidArgumentError(`Plugin "${plugin.name}" needs a setup(ctx) function`)
  return plugin
}
