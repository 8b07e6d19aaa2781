// The deterministic simulation of the engine: `pnpm sim [--seeds N] [--from S] [--seed S] [--verbose]`.
// Each seed plays the same scenario twice, on a perfect store and on a faulty one (failures, lost
// answers, late and reordered answers, batches cut off midway, engines killed and restarted), and
// checks the invariants of DESIGN.md's promises (see world.ts and workflows.ts). A failing seed
// prints the one command that replays it.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type SimResult, simulate } from './world.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '200' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    events: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    bail: { type: 'boolean', default: false },
  },
})

const compare = (seed: number, base: SimResult, faulty: SimResult): string[] => {
  const out: string[] = []
  const skip = (id: string) => [...base.cancelled, ...faulty.cancelled].some((c) => id === c || id.startsWith(`${c}/`))
  for (const [id, want] of base.ends) {
    if (skip(id)) continue
    const got = faulty.ends.get(id)
    if (!got) {
      out.push(`seed ${seed}: run ${id} ended ${want.status} without faults, and is missing with them`)
      continue
    }
    const a = JSON.stringify(want)
    const b = JSON.stringify(got)
    if (a !== b) out.push(`seed ${seed}: run ${id} ended differently with faults: ${b} instead of ${a}`)
  }
  return out
}

/** Plays one seed; resolves its violations (empty when every invariant held). */
export const checkSeed = async (seed: number, events?: number, verbose = false): Promise<{ violations: string[]; attempts: number }> => {
  const trace = verbose ? (line: string) => console.log(`  [${seed}] ${line}`) : undefined
  const base = await simulate({ seed, faults: false, events })
  const faulty = await simulate({ seed, faults: true, events, trace })
  const violations = [
    ...base.violations.map((v) => `seed ${seed} (no faults): ${v}`),
    ...faulty.violations.map((v) => `seed ${seed}: ${v}`),
    ...compare(seed, base, faulty),
  ]
  return { violations, attempts: base.attempts + faulty.attempts }
}

const main = async () => {
  const events = values.events === undefined ? undefined : Number(values.events)
  const seeds =
    values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.from) + i)
  const started = Date.now()
  let failed = 0
  let attempts = 0
  for (const seed of seeds) {
    const result = await checkSeed(seed, events, values.verbose)
    attempts += result.attempts
    if (result.violations.length) {
      failed++
      for (const v of result.violations) console.log(v)
      console.log(`replay: pnpm sim --seed ${seed}${events === undefined ? '' : ` --events ${events}`} --verbose`)
      if (values.bail) break
    }
  }
  const seconds = (Date.now() - started) / 1000
  console.log(
    `sim: ${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]}), ${attempts} step attempts, ${failed} failing, ${seconds.toFixed(1)} s`,
  )
  process.exit(failed ? 1 : 0)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main()
