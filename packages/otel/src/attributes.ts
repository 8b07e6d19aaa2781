/**
 * Span attribute names the plugin sets. They are exported so dashboards and tests can refer to them
 * by constant instead of by string.
 */
export const ATTR = {
  /** Run id, e.g. `onboarding:usr_1`. On every span. */
  RUN_ID: 'do.run_id',
  WORKFLOW_ID: 'do.workflow_id',
  /** Workflow version the run is pinned to. */
  WORKFLOW_VERSION: 'do.workflow_version',
  /** Step id, e.g. `send-welcome-email#1`. On step and action spans and on step span events. */
  STEP_ID: 'do.step_id',
  /** `action`, `fn`, `sleep`, `wait`, `invoke`, `state`, `now`, `uuid`, `store.get`, … */
  STEP_KIND: 'do.step_kind',
  ACTION_ID: 'do.action_id',
  /** Attempt number, 1 for the first attempt. */
  ATTEMPT: 'do.attempt',
  /** True when the step's result came from the journal (replayed-step spans); false on executed steps and actions. */
  REPLAYED: 'do.replayed',
  /**
   * How the span's work ended. Run pass: `completed`, `failed`, `cancelled`, `sleeping`, `waiting`,
   * `abandoned` (dropped without writing: engine stopped, lease lost; another pass resumes it).
   * Step: `completed`, `failed`, `retrying` (the pass suspended until the next attempt), `cancelled`,
   * `interrupted` (the pass ended while the step ran). Action: `completed`, `failed`.
   */
  STATUS: 'do.status',
  /** `start` for a run's first execution pass, `resume` for later ones. */
  PASS: 'do.pass',
  /** Steps found in the journal when a pass resumed. */
  JOURNAL_STEPS: 'do.journal_steps',
  /** Unix ms the run sleeps until (suspended passes) or the next attempt is due (retry events). */
  WAKE_AT: 'do.wake_at',
  /** Event names a suspended run waits for, comma-separated. */
  WAITING_FOR: 'do.waiting_for',
  /** Retry delay, ms. */
  DELAY_MS: 'do.delay_ms',
  SIGNAL_NAME: 'do.signal_name',
  /** How late a durable timer fired, ms. */
  LATE_MS: 'do.late_ms',
  IDEMPOTENCY_KEY: 'do.idempotency_key',
} as const

/** Names of the span events the plugin adds. */
export const EVENT = {
  /** On a step span: an attempt failed and will be tried again. */
  STEP_RETRY: 'do.step.retry',
  /** On a run span: a step's result came from the journal (when `recordReplayedSteps` is off). */
  STEP_REPLAYED: 'do.step.replayed',
  SIGNAL_RECEIVE: 'do.signal.receive',
  TIMER_FIRE: 'do.timer.fire',
} as const
