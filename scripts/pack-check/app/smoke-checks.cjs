// The checks of the ESM and the CJS smoke (smoke.mjs, smoke.cjs): the same code, given the modules
// as each module system loads them. CommonJS so that both can load it without require(esm).
'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

/** Every exported class keeps its name as written (esbuild renames clashing classes unless keepNames). */
const checkClassNames = (spec, mod) => {
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value === 'function' && /^[A-Z]/.test(name) && value.prototype) {
      assert.equal(value.name, name, `${spec}: export ${name} has the name "${value.name}"`)
    }
  }
}

/**
 * @param {string} label 'ESM' or 'CJS'
 * @param {string[]} entries every entry point of every tarball (`@do-sdk/core`, `@do-sdk/core/testing`, …)
 * @param {(spec: string) => Promise<Record<string, unknown>>} load
 */
module.exports = async function smoke(label, entries, load) {
  const mods = {}
  for (const spec of entries) {
    mods[spec] = await load(spec)
    assert.ok(Object.keys(mods[spec]).length > 0, `${spec} exports nothing`)
    checkClassNames(spec, mods[spec])
  }
  const { action, createEngine, memoryStore, silentLogger, workflow, ValidationError } = mods['@do-sdk/core']
  const { sqliteStore } = mods['@do-sdk/store-sqlite']
  const { z } = await load('zod')

  // Retries run through p-retry (bundled into the CJS build).
  let calls = 0
  const flaky = action.create({
    id: 'flaky',
    description: 'Fails once, then answers.',
    input: z.object({ n: z.number() }),
    retry: { retries: 2, minTimeout: 1, maxTimeout: 1 },
    execute: async ({ n }) => {
      calls++
      if (calls === 1) throw new Error('first attempt fails')
      return { doubled: n * 2 }
    },
  })
  assert.deepEqual(await flaky.execute({ n: 21 }), { doubled: 42 })
  assert.equal(calls, 2, 'the action was retried once')

  const err = await flaky.execute({ n: 'x' }).then(
    () => assert.fail('an invalid input was accepted'),
    (e) => e,
  )
  assert.ok(err instanceof ValidationError, `an invalid input throws ValidationError, got ${err}`)
  assert.match(String(err), /^ValidationError\b/, 'the error prints its class name')

  const double = workflow.create({
    id: 'double',
    input: z.object({ n: z.number() }),
    async run({ input, step }) {
      const { doubled } = await step.run(flaky, { n: input.n })
      await step.sleep('1ms')
      return doubled
    },
  })
  for (const [name, store] of [
    ['memoryStore', memoryStore()],
    ['sqliteStore', sqliteStore({ path: ':memory:' })],
  ]) {
    const engine = createEngine({ store, workflows: [double], logger: silentLogger })
    await engine.start()
    const run = await engine.trigger(double, { n: 5 })
    assert.equal(await run.result(), 10, `a run on ${name} completes`)
    assert.equal((await engine.getRun(run.id)).status, 'completed')
    await engine.stop()
    await store.close?.()
  }
  // WAL checkpoints on a worker thread: the worker resolves better-sqlite3 from the installed package.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'do-sdk-pack-checkpoints-'))
  const file = path.join(dir, 'c.db')
  const store = sqliteStore({ path: file })
  for (let i = 0; i < 250; i++) assert.ok((await store.batch([{ op: 'set', key: `k${i}`, value: 'v' }])).ok)
  for (const deadline = Date.now() + 60_000; store.checkpointState() !== 'background'; ) {
    assert.ok(
      store.checkpointState() !== 'failed' && Date.now() < deadline,
      `the checkpoint worker did not start (${store.checkpointState()})`,
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await store.close()
  assert.ok(!fs.existsSync(`${file}-wal`), 'closing the store removes the WAL (the worker closed first)')
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(
    `${label} smoke: ${entries.length} entry points load, class names kept, runs complete on memory and SQLite, SQLite checkpoints on a worker thread`,
  )
}
