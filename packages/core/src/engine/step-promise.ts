/**
 * The promise a `step.*` call returns. A real `Promise` (so `instanceof Promise` holds), with one
 * difference: it knows whether the workflow code ever consumed it. `await`, `Promise.all`,
 * `Promise.race` and `.then` all call `then` on it, because its constructor is not `Promise`
 * itself; a step whose promise was never consumed when the workflow returns was called and
 * forgotten (a missing `await`), which the engine reports instead of letting the step silently
 * never run.
 */
export class StepPromise<T> extends Promise<T> {
  /** True once the workflow code awaited it (or passed it to a combinator, or called then/catch). */
  consumed = false

  // Promises derived with then/catch/finally are plain ones.
  static override get [Symbol.species]() {
    return Promise
  }

  // biome-ignore lint/suspicious/noThenProperty: the point is to see every consumer of the promise.
  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.consumed = true
    return super.then(onFulfilled, onRejected)
  }
}

/** A step promise with its settle functions. */
export interface Deferred<T> {
  promise: StepPromise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
}

export const deferred = <T>(): Deferred<T> => {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new StepPromise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A step rejected with nobody listening yet is not an unhandled rejection: the code may still await it.
  Promise.prototype.then.call(promise, undefined, () => {})
  return { promise, resolve, reject }
}
