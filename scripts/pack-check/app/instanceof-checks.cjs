// (f) One copy of every class across entry points: a run under the test engine of
// `@do-sdk/core/testing` throws errors that are `instanceof` the classes of `@do-sdk/core`, as a
// user's `expect(err).toBeInstanceOf(RunFailedError)` checks. Run from instanceof.mjs (ESM) and
// instanceof.cjs (CommonJS), each with the modules as its module system loads them.
'use strict'
const assert = require('node:assert/strict')
const { test } = require('node:test')

const causes = (e) => (e ? [e, ...causes(e.cause)] : [])

module.exports = (label, core, testing, { z }) => {
  const { action, DoSdkError, Engine, NonRetryableError, RunFailedError, workflow } = core
  const decline = action.create({
    id: 'charge-card',
    description: 'Declines every card.',
    input: z.object({ amount: z.number() }),
    execute: async () => {
      throw new NonRetryableError('card declined')
    },
  })

  test(`${label}: errors of a run under createTestEngine are instances of the classes of @do-sdk/core`, async () => {
    let caught
    const checkout = workflow.create({
      id: 'checkout',
      input: z.object({ amount: z.number() }),
      async run({ input, step }) {
        try {
          await step.run(decline, input)
        } catch (e) {
          caught = e
          throw e
        }
      },
    })
    const engine = testing.createTestEngine({ workflows: [checkout] })
    // Only while `Engine` is exported as a class (a value); as a type only, there is nothing to compare.
    if (typeof Engine === 'function') assert.ok(engine instanceof Engine, 'the test engine is an Engine of @do-sdk/core')
    await engine.start()
    const run = await engine.trigger(checkout, { amount: 42 })
    await engine.settle()
    const error = await run.result().then(
      () => assert.fail('the run did not fail'),
      (e) => e,
    )
    assert.ok(error instanceof RunFailedError, `run.result() rejects with RunFailedError, got ${error?.constructor?.name}`)
    assert.ok(error instanceof DoSdkError)
    assert.ok(
      causes(error).some((e) => e instanceof NonRetryableError),
      'the cause chain of the run failure holds the NonRetryableError',
    )
    assert.ok(
      causes(caught).some((e) => e instanceof NonRetryableError),
      `the error that step.run throws in the workflow is (or wraps) a NonRetryableError, got ${caught?.constructor?.name}`,
    )
    await engine.stop()
  })
}
