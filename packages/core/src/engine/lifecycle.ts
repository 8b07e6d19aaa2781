import type { Action } from '../action.js'
import { CapabilityError, EngineStateError } from '../errors.js'
import type { Hooks } from '../hooks/registry.js'
import type { HookRegistry } from '../hooks/types.js'
import type { Logger } from '../logger.js'
import type { Plugin } from '../plugin.js'
import type { EngineStore } from './store.js'

/** Runs each plugin's setup with a registration surface that closes when its setup returns. */
export const setupPlugins = async (plugins: Plugin[], hooks: Hooks, actions: Map<string, Action>, log: Logger) => {
  for (const plugin of plugins) {
    let open = true
    const guard = () => {
      if (!open) throw new EngineStateError(`Plugin "${plugin.name}": registration is closed after engine.start()`)
    }
    const ctx: HookRegistry & { registerAction(a: Action): void; log: Logger } = {
      on: (name, fn) => {
        guard()
        return hooks.on(name, fn)
      },
      wrap: (kind, fn) => {
        guard()
        return hooks.wrap(kind, fn)
      },
      registerAction: (a) => {
        guard()
        actions.set(a.id, a)
      },
      log,
    }
    await plugin.setup(ctx)
    open = false
  }
}

const LOCK_KEY = 'lock/engine'

/**
 * A single-process store gets one engine at a time: a second engine is refused rather than allowed
 * to run committed steps twice. Returns the lock's version. (Skipped for the memory store, which
 * cannot be shared.)
 */
export const takeEngineLock = async (
  store: EngineStore,
  storeName: string,
  engineId: string,
  now: number,
  leaseMs: number,
): Promise<number> => {
  const got = await store.get(LOCK_KEY)
  if (got) {
    const lock = store.decode<{ owner: string; until: number }>(got, LOCK_KEY)
    if (lock.owner !== engineId && lock.until > now && storeName !== 'memory') {
      throw new CapabilityError(
        `Another engine (${lock.owner}) is using this ${storeName} store, which is single-process. Use sqliteStore or redisStore with multiProcess: true to run several engines (if the other engine crashed, its lock expires within ${Math.ceil((lock.until - now) / 1000)} s).`,
      )
    }
  }
  const value = store.encode({ owner: engineId, until: now + leaseMs * 2 }, 'lock')
  const res = await store.batch([{ op: 'set', key: LOCK_KEY, value, ifVersion: got?.version ?? 0 }])
  if (!res.ok) throw new CapabilityError(`Another engine took the ${storeName} store at the same moment; it is single-process`)
  return res.versions[0] as number
}

/** Extends the lock; resolves to its new version, or 0 when another engine holds it. */
export const renewEngineLock = async (
  store: EngineStore,
  engineId: string,
  now: number,
  leaseMs: number,
  version: number,
): Promise<number> => {
  const value = store.encode({ owner: engineId, until: now + leaseMs * 2 }, 'lock')
  const res = await store.batch([{ op: 'set', key: LOCK_KEY, value, ifVersion: version }])
  return res.ok ? (res.versions[0] as number) : 0
}

export const releaseEngineLock = async (store: EngineStore, version: number) => {
  if (version) await store.batch([{ op: 'delete', key: LOCK_KEY, ifVersion: version }]).catch(() => {})
}
