// Cost of hooks per step, on the memory store (so the store costs least and the hooks show):
// a workflow of many `step.run` steps, run one at a time on four engines that differ only in hooks.
// The variants take turns, round after round (rotating which goes first), and the median per
// variant is reported.
// Prints one line `RESULT {json}`.
import { createEngine, definePlugin, type Engine, memoryStore, type Plugin, silentLogger, workflow } from '@do-sdk/core'
import { HOOK_VARIANTS, type HooksConfig, type HookVariant } from './hooks-def.js'
import { median, sequentialMs } from './measure.js'

const manySteps = workflow.create({
  id: 'bench-many-steps',
  run: async ({ input, step }) => {
    let last: unknown
    for (let k = 0; k < input.steps; k++) last = await step.run('s', () => ({ k }))
    return last
  },
})

let seen = 0
const plugins: Record<HookVariant, Plugin[]> = {
  none: [],
  // Observes an event this workload never emits: shows what a registered-but-idle hook costs.
  'unrelated observer': [definePlugin({ name: 'idle', setup: (ctx) => void ctx.on('timer:fire', () => void seen++) })],
  '1 observer': [definePlugin({ name: 'observer', setup: (ctx) => void ctx.on('step:complete', () => void seen++) })],
  '1 wrap': [definePlugin({ name: 'wrap', setup: (ctx) => void ctx.wrap('step', (_ctx, next) => next()) })],
}

const main = async () => {
  const config = JSON.parse(process.argv[2] as string) as HooksConfig
  const engines = new Map<HookVariant, Engine>()
  for (const variant of HOOK_VARIANTS) {
    const engine = createEngine({
      store: memoryStore(),
      workflows: [manySteps],
      logger: silentLogger,
      concurrency: 100,
      plugins: plugins[variant],
    })
    await engine.start()
    engines.set(variant, engine)
  }
  const runOn = (engine: Engine) => async () => (await engine.trigger(manySteps, { steps: config.steps })).result()
  for (const engine of engines.values()) await sequentialMs(runOn(engine), config.warmup)
  const samples = new Map<HookVariant, number[]>(HOOK_VARIANTS.map((v) => [v, []]))
  for (let r = 0; r < config.reps; r++) {
    // Each round starts with another variant, so none always runs right after the others' garbage.
    const order = HOOK_VARIANTS.map((_, i) => HOOK_VARIANTS[(i + r) % HOOK_VARIANTS.length] as HookVariant)
    for (const variant of order) {
      const msPerRun = await sequentialMs(runOn(engines.get(variant) as Engine), config.runs)
      samples.get(variant)?.push((msPerRun * 1000) / config.steps)
    }
  }
  for (const engine of engines.values()) await engine.stop()
  const usPerStep = Object.fromEntries(HOOK_VARIANTS.map((v) => [v, median(samples.get(v) as number[])]))
  process.stdout.write(`RESULT ${JSON.stringify({ usPerStep, samples: Object.fromEntries(samples), observed: seen > 0 })}\n`)
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    process.exit(1)
  },
)
