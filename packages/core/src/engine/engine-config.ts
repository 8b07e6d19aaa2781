import { randomUUID } from 'node:crypto'
import { toMs } from '../duration.js'
import { CapabilityError, InvalidArgumentError } from '../errors.js'
import { assertId } from '../ids.js'
import { consoleLogger, type Logger } from '../logger.js'
import { type Clock, offsetClock, systemClock } from './clock.js'
import type { InternalEngineOptions } from './engine-types.js'
import type { Limits, RandomSource } from './execution-deps.js'

/** An engine's options, checked, with their defaults. */
export interface EngineConfig {
  multiProcess: boolean
  engineId: string
  /** The offset to the store's clock, measured at start (stores with one shared clock), if used. */
  offset: { ms: number } | undefined
  clock: Clock
  log: Logger
  leaseMs: number
  pollIntervalMs: number
  drainTimeoutMs: number
  concurrency: number
  retentionMs: number
  inlineRetryMs: number
  limits: Limits
  random: RandomSource
}

/** Checks `createEngine`'s options and fills in the defaults; throws an error naming the bad option. */
export const engineConfig = (options: InternalEngineOptions): EngineConfig => {
  if (!options || typeof options !== 'object' || !options.store) throw new InvalidArgumentError('createEngine needs { store }')
  const caps = options.store.capabilities
  const multiProcess = options.multiProcess ?? caps.multiProcess
  if (multiProcess && !caps.multiProcess) {
    throw new CapabilityError(
      `Store "${options.store.name}" is single-process (capabilities.multiProcess = false): two engines on it could run a committed step twice. Use sqliteStore (one machine) or redisStore (many machines) for several processes, or run one engine.`,
    )
  }
  const concurrency = options.concurrency ?? 100
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InvalidArgumentError(`concurrency must be an integer >= 1, got ${concurrency}`)
  // Engines sharing a store with a clock of its own order signals, timers and leases by it.
  const offset = !options.clock && multiProcess && options.store.now ? { ms: 0 } : undefined
  return {
    multiProcess,
    engineId: options.engineId === undefined ? `engine-${randomUUID().slice(0, 8)}` : assertId(options.engineId, 'engine id'),
    offset,
    clock: options.clock ?? (offset ? offsetClock(offset) : systemClock),
    log: options.logger ?? consoleLogger(),
    leaseMs: toMs(options.lease ?? '5s', 'lease'),
    pollIntervalMs: toMs(options.pollInterval ?? '1s', 'pollInterval'),
    drainTimeoutMs: toMs(options.drainTimeout ?? '10s', 'drainTimeout'),
    concurrency,
    retentionMs: toMs(options.retention ?? '7d', 'retention'),
    inlineRetryMs: toMs(options.inlineRetry ?? '1s', 'inlineRetry'),
    limits: { stepBytes: 1 << 20, stateBytes: 1 << 20, ...options.limits },
    random: options.random ?? { uuid: randomUUID },
  }
}
