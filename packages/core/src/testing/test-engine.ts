import { memoryStore } from '../datastore/memory.js'
import type { Datastore } from '../datastore/types.js'
import { type Duration, toMs } from '../duration.js'
import { type VirtualClock, virtualClock } from '../engine/clock.js'
import { EngineImpl } from '../engine/engine.js'
import type { Engine, EngineOptions } from '../engine/engine-types.js'
import type { StepKind } from '../engine/records.js'
import { SimulatedCrash } from '../engine/store.js'
import { silentLogger } from '../logger.js'

/** Where to crash: a step id (`'send-welcome-email#1'`) or a predicate over the step about to commit. */
export type CrashPoint = string | ((step: { runId: string; stepId: string; kind: StepKind }) => boolean)

/** Options of {@link createTestEngine}. */
export interface TestEngineOptions extends Omit<EngineOptions, 'store' | 'clock' | 'beforeCommit'> {
  /** @default a fresh memoryStore() on the virtual clock */
  store?: Datastore
  /** Start time of the virtual clock (Unix ms). */
  now?: number
  /** Share a clock between engines (e.g. an engine restarted after a crash). */
  clock?: VirtualClock
  /**
   * Crash injection: the engine dies after this step's work returned and before its commit,
   * as a process killed at that instant would. Nothing more reaches the store.
   */
  crashBeforeCommit?: CrashPoint
}

/** An engine on a virtual clock, with crash injection. */
export interface TestEngine extends Engine {
  readonly clock: VirtualClock
  /**
   * Moves the virtual clock forward and runs everything that became due on the way, each stored
   * timer, schedule tick and held-back run at its own time (30 days take a millisecond).
   */
  advance(duration: Duration): Promise<void>
  /** Runs everything due now until no run is executing. */
  settle(): Promise<void>
  /** One poll of the store for due work, now (without waiting for the runs it starts). */
  tick(): Promise<void>
  /** Kills the engine at once, as a crash would: nothing more is written. */
  kill(): void
  /** True once the engine crashed through `crashBeforeCommit` (or `kill()`). */
  readonly crashed: boolean
}

/**
 * Creates an engine for tests: virtual clock, memory store by default, no console noise, retries as
 * durable timers (so `advance` drives them), and optional crash injection.
 *
 * @example
 * ```ts
 * const engine = createTestEngine({ workflows: [onboarding] })
 * await engine.start()
 * const run = await engine.trigger(onboarding, input)
 * await engine.advance('3d')
 * expect((await engine.getRun(run.id)).status).toBe('completed')
 * ```
 */
export const createTestEngine = (options: TestEngineOptions = {}): TestEngine => {
  const clock = options.clock ?? virtualClock(options.now)
  const { crashBeforeCommit, store, now: _now, clock: _clock, ...rest } = options
  let crashed = false
  const matches = (step: { runId: string; stepId: string; kind: StepKind }) =>
    typeof crashBeforeCommit === 'function' ? crashBeforeCommit(step) : crashBeforeCommit === step.stepId
  const engine: EngineImpl = new EngineImpl({
    logger: silentLogger,
    inlineRetry: 0,
    keepAlive: false,
    ...rest,
    store: store ?? memoryStore({ now: clock.now }),
    clock,
    beforeCommit: crashBeforeCommit
      ? (step) => {
          if (!crashed && matches(step)) {
            crashed = true
            engine.kill()
            throw new SimulatedCrash(`crash injected before the commit of step "${step.stepId}"`)
          }
        }
      : undefined,
  })
  const settle = async () => {
    for (let i = 0; i < 10_000; i++) {
      if (engine.status !== 'started') return
      // A follow-up write that landed after the poll (a buffered tick made due now) needs one more.
      const followUps = engine.sideTasksDone
      await engine.tick()
      await engine.idle()
      await new Promise((r) => setImmediate(r))
      if (engine.executions.size === 0) {
        await engine.idle()
        if (engine.executions.size === 0 && engine.sideTasksDone === followUps) return
      }
    }
  }
  const kill = engine.kill.bind(engine)
  Object.assign(engine, {
    clock,
    kill() {
      crashed = true
      kill()
    },
    async advance(duration: Duration) {
      // Finish what is due now first, so nothing starts on the moved clock by accident.
      await settle()
      const target = clock.now() + toMs(duration, 'advance')
      // Step through the stored work on the way (timers, lease expiries, schedule ticks, runs held
      // back by flow control), so each comes due at its own time: a year of a daily schedule runs
      // 365 times, each at its tick.
      for (;;) {
        // A store that fails (an outage under test) has nothing to step through: jump.
        const next = engine.status === 'started' ? await engine.nextDueAt().catch(() => undefined) : undefined
        if (next === undefined || next > target) break
        clock.set(next)
        await settle()
      }
      clock.set(target)
      await settle()
    },
    settle,
  })
  Object.defineProperty(engine, 'crashed', { get: () => crashed })
  return engine as unknown as TestEngine
}
