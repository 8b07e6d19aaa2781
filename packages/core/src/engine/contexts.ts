import type { Logger } from '../logger.js'
import type { Step, StepFnContext, WorkflowContext } from '../workflow.js'

/** What a context needs to hand out the execution's abort signal. */
interface SignalSource {
  readonly controller: AbortController
}

/**
 * The context a workflow function receives. A class with `signal` as a getter on its prototype:
 * the signal (and its AbortController) is made only if the code reads it, and every context
 * shares one shape (an object literal with a getter would get a hidden class of its own).
 */
export class RunContext implements WorkflowContext<unknown, Record<string, unknown>> {
  readonly #source: SignalSource

  constructor(
    source: SignalSource,
    readonly input: unknown,
    readonly state: Record<string, unknown>,
    readonly step: Step<Record<string, unknown>>,
    readonly runId: string,
    readonly workflowId: string,
    readonly version: string,
    readonly log: Logger,
  ) {
    this.#source = source
  }

  /** Aborted when the run is cancelled or its execution ends. */
  get signal(): AbortSignal {
    return this.#source.controller.signal
  }
}

/** The context of a `step.run(name, fn)` function (see {@link RunContext} for why a class). */
export class FnContext implements StepFnContext {
  readonly #source: SignalSource

  constructor(
    source: SignalSource,
    readonly attempt: number,
    readonly idempotencyKey: string,
  ) {
    this.#source = source
  }

  get signal(): AbortSignal {
    return this.#source.controller.signal
  }
}
