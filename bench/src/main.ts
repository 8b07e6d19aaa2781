// `pnpm bench`: the workload of issue 8 on do-sdk (memory, SQLite with both drivers, Redis), on the
// raw stores underneath and on three peers (BullMQ, LangGraph.js, TanStack Workflow), then hooks,
// scale and resume. The main table also gives each subject's client CPU per workflow (case.ts).
// Every subject runs in a fresh child process, one at a time; Redis is started here and stopped at
// the end. Flags: --smoke (tiny sizes, for CI), --scale (only the scale and resume parts),
// --1m (adds 1,000,000 runs to the scale and list parts), --sizes=10000,100000, --only=do-sqlite,raw-sqlite,
// --parts=main,hooks,scale,resume,list,flow, --reps=3, --json=<file>.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CaseConfig, CaseResult } from './case.js'
import { workflowsRun } from './case-runs.js'
import { runChild } from './child.js'
import { cliArgs } from './cli.js'
import { type FlowResults, flowSection } from './flow-part.js'
import { int, sig, table, times, withSpread, yesNo } from './format.js'
import { HOOK_VARIANTS, type HooksConfig, type HookVariant } from './hooks-def.js'
import { type ListRow, listSection } from './list-part.js'
import { machineInfo } from './machine.js'
import { median, percentile } from './measure.js'
import { type BenchRedis, flushRedis, redisCommandCalls, startBenchRedis } from './redis-server.js'
import { ROWS, SHORT } from './rows.js'
import {
  type ResumeRow,
  resumeTable,
  runResume,
  runScale,
  type ScaleRow,
  type StoreKind,
  scaleTable,
  scaleVerdicts,
  type Verdict,
  verdictTable,
} from './scale.js'
import { mainVerdicts } from './targets.js'

type Part = 'main' | 'hooks' | 'scale' | 'resume' | 'list' | 'flow'

const { flag, option, list } = cliArgs()

const smoke = flag('smoke')
const parts = new Set<Part>(
  (list('parts') as Part[] | undefined) ?? (flag('scale') ? ['scale', 'resume'] : ['main', 'hooks', 'scale', 'resume', 'list', 'flow']),
)
const reps = Number(option('reps') ?? (smoke ? 1 : 3))
const only = list('only')
const sizes = (list('sizes')?.map(Number) ?? (smoke ? [200] : [10_000, 100_000])).concat(flag('1m') ? [1_000_000] : [])

/** Sequential runs measured per repetition: more for the fast subjects, so each timing spans ~0.3 s or more. */
const SEQ_RUNS: Record<string, number> = {
  plain: 200_000,
  'do-memory': 3_000,
  'tanstack-memory': 3_000,
  'langgraph-memory': 500,
  'raw-sqlite': 5_000,
  'raw-sqlite-batched': 3_000,
  'do-sqlite': 1_500,
  'do-sqlite3': 300,
  'langgraph-sqlite': 300,
  'raw-redis': 2_000,
  'raw-redis-pipelined': 2_000,
  'do-redis': 800,
  bullmq: 300,
}

/** Back-to-back batches of 2,000 per throughput repetition for the baselines that take a few ms per batch. */
const TPUT_BATCHES: Record<string, number> = {
  plain: 100,
  'raw-sqlite-batched': 10,
  'raw-sqlite': 2,
  'raw-redis': 5,
  'raw-redis-pipelined': 5,
}

const caseConfig = (subject: string, redisUrl?: string): CaseConfig => {
  const seqRuns = smoke ? 10 : (SEQ_RUNS[subject] ?? 500)
  return {
    subject,
    redisUrl,
    seqRuns,
    seqWarmup: smoke ? 3 : Math.ceil(seqRuns / 5),
    tputRuns: smoke ? 100 : 2_000,
    tputBatches: smoke ? 1 : (TPUT_BATCHES[subject] ?? 1),
    concurrency: 50,
    reps,
    parts: ['seq', 'tput'],
  }
}

const hooksConfig: HooksConfig = smoke ? { steps: 10, runs: 3, warmup: 2, reps: 1 } : { steps: 50, runs: 40, warmup: 50, reps: 20 }

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)
const print = (line = '') => process.stdout.write(`${line}\n`)

interface Results {
  machine: string[]
  cases: Record<string, CaseResult | { error: string }>
  /**
   * Client CPU per workflow (µs, user + system of the subject's process) over the measured runs,
   * warm-up excluded: medians of the repetitions, sequential and throughput parts apart.
   */
  clientCpuUsPerWorkflow: Record<string, { seq: number; tput: number }>
  /** redis-server CPU time per workflow (µs) while each Redis subject ran, warm-up included. */
  redisCpuUsPerWorkflow: Record<string, number>
  /** Redis commands per workflow while each Redis subject ran (INFO commandstats), warm-up included. */
  redisCommandsPerWorkflow: Record<string, Record<string, number>>
  hooks?: { usPerStep: Record<HookVariant, number>; samples: Record<HookVariant, number[]> } | { error: string }
  scale?: ScaleRow[] | { error: string }
  resume?: ResumeRow[] | { error: string }
  list?: ListRow[] | { error: string }
  flow?: FlowResults | { error: string }
  verdicts: Verdict[]
}

/** One line, short enough for a table cell (the full error is on stderr). */
const clip = (text: string, max = 100) => {
  const line = text.replace(/\s+/g, ' ')
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

const isOk = <T>(x: T | { error: string } | undefined): x is T => x !== undefined && !(typeof x === 'object' && x && 'error' in x)
const errorOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const mainTable = (cases: Results['cases']) => {
  const seqOf = (id: string) => {
    const c = cases[id]
    return isOk(c) && c.seq.length ? median(c.seq) : Number.NaN
  }
  const tputOf = (id: string) => {
    const c = cases[id]
    return isOk(c) && c.tput.length ? median(c.tput) : Number.NaN
  }
  const rows = ROWS.filter((r) => cases[r.id] !== undefined).map((r) => {
    const c = cases[r.id]
    if (!isOk(c)) return [r.label, r.store, 'error', 'error', '', clip(c?.error ?? ''), '']
    const seqRatios = r.seqVs.filter((v) => cases[v]).map((v) => `${times(seqOf(r.id) / seqOf(v))} ${SHORT[v]}`)
    const tputRatios = r.tputVs.filter((v) => cases[v]).map((v) => `${times(tputOf(r.id) / tputOf(v))} ${SHORT[v]}`)
    const cpu = `${sig(median(c.seqCpuUs))} / ${sig(median(c.tputCpuUs))}`
    return [r.label, r.store, withSpread(c.seq, sig), withSpread(c.tput, int), cpu, seqRatios.join('; '), tputRatios.join('; ')]
  })
  const text = table(
    [
      'system',
      'store, durability',
      'sequential ms / workflow',
      'workflows / s (2,000 at c=50)',
      'client CPU µs / workflow (sequential / c=50)',
      'latency ÷',
      'throughput ÷',
    ],
    rows,
  )
  const cpuOf = (id: string, part: 'seq' | 'tput') => {
    const c = cases[id]
    return isOk(c) ? median(part === 'seq' ? c.seqCpuUs : c.tputCpuUs) : Number.NaN
  }
  const verdicts = mainVerdicts({ seq: seqOf, tput: tputOf, cpu: cpuOf, ran: (id) => cases[id] !== undefined })
  return { text, verdicts }
}

/**
 * Per-step costs, and each variant's cost relative to `none` paired round by round (the rounds
 * interleave the variants, so a ratio within a round cancels the machine's drift between rounds).
 */
const hooksReport = (samples: Record<HookVariant, number[]>) => {
  const none = samples.none
  const ratios = (v: HookVariant) => samples[v].map((x, i) => x / (none[i] as number))
  const us = (v: HookVariant) => median(samples[v])
  const text = table(
    ['hooks (memory store)', 'µs per step', 'ratio to none (median of paired rounds, p25–p75)', 'added µs per step'],
    HOOK_VARIANTS.map((v) => [
      v,
      sig(us(v)),
      v === 'none' ? '1' : `${times(median(ratios(v)))} (${times(percentile(ratios(v), 25))}–${times(percentile(ratios(v), 75))})`,
      v === 'none' ? '-' : sig(us(v) - us('none')),
    ]),
  )
  const idle = ratios('unrelated observer')
  const idleMedian = median(idle)
  const verdicts: Verdict[] = [
    {
      target:
        '5. hooks: no measurable cost with none registered (an idle observer adds < 5%, or none distinguishable: p25 of paired ratios ≤ 1)',
      measured: `${times(idleMedian)} (p25 ${times(percentile(idle, 25))})`,
      met: idleMedian <= 1.05 || percentile(idle, 25) <= 1,
    },
    {
      target: '5. hooks: cost per step with 1 observer / 1 wrap (reported)',
      measured: `+${sig(us('1 observer') - us('none'))} / +${sig(us('1 wrap') - us('none'))} µs (${times(median(ratios('1 observer')))} / ${times(median(ratios('1 wrap')))})`,
      met: undefined,
    },
  ]
  return { text, verdicts }
}

const main = async () => {
  const started = Date.now()
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-bench-'))
  const results: Results = {
    machine: machineInfo(),
    cases: {},
    clientCpuUsPerWorkflow: {},
    redisCpuUsPerWorkflow: {},
    redisCommandsPerWorkflow: {},
    verdicts: [],
  }
  let failures = 0
  let redis: BenchRedis | undefined
  const subjects = ROWS.filter((r) => !only || only.includes(r.id))
  const storesFor: StoreKind[] = ['sqlite', 'redis']
  const needRedis =
    (parts.has('main') && subjects.some((r) => r.redis)) || ['scale', 'resume', 'list', 'flow'].some((p) => parts.has(p as Part))
  print(`# do-sdk benchmarks${smoke ? ' (smoke: tiny sizes, the numbers mean nothing)' : ''}`)
  print()
  for (const line of results.machine) print(`- ${line}`)
  print(
    `- workload: a workflow of 3 sequential steps, each returning a small JSON object; medians of ${reps} repetitions (± half the spread)`,
  )
  print()
  try {
    if (needRedis) {
      try {
        redis = await startBenchRedis()
        log(`redis-server ${redis.version} on ${redis.url} (${redis.args.join(' ')})`)
      } catch (error) {
        log(`redis-server could not start: ${errorOf(error)}`)
      }
    }

    if (parts.has('main')) {
      const runCase = async (row: (typeof subjects)[number]) => {
        const t0 = Date.now()
        try {
          if (row.redis && !redis) throw new Error('redis-server not available')
          if (row.redis && redis && !smoke) await flushRedis(redis.url)
          const config = caseConfig(row.id, redis?.url)
          const measureRedis = row.redis && redis && !smoke ? redis : undefined
          const cpu0 = measureRedis?.cpuMs() ?? 0
          const calls0 = measureRedis ? await redisCommandCalls(measureRedis.url) : {}
          const result = await runChild<CaseResult>('case.ts', config)
          results.cases[row.id] = result
          results.clientCpuUsPerWorkflow[row.id] = { seq: median(result.seqCpuUs), tput: median(result.tputCpuUs) }
          if (measureRedis) {
            const n = workflowsRun(config)
            results.redisCpuUsPerWorkflow[row.id] = ((measureRedis.cpuMs() - cpu0) * 1000) / n
            const calls1 = await redisCommandCalls(measureRedis.url)
            results.redisCommandsPerWorkflow[row.id] = Object.fromEntries(
              Object.entries(calls1)
                .map(([cmd, c]) => [cmd, (c - (calls0[cmd] ?? 0)) / n] as const)
                .filter(([, perWf]) => perWf >= 0.01),
            )
          }
        } catch (error) {
          failures++
          results.cases[row.id] = { error: errorOf(error) }
          log(`${row.id}: ${errorOf(error)}`)
        }
        log(`${row.id}: ${isOk(results.cases[row.id]) ? 'done' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
      }
      // One at a time, so subjects never share the CPU; smoke mode (numbers meaningless) runs 3 at once.
      const queue = [...subjects]
      const lanes = smoke ? 3 : 1
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          for (let row = queue.shift(); row; row = queue.shift()) await runCase(row)
        }),
      )
      const { text, verdicts } = mainTable(results.cases)
      results.verdicts.push(...verdicts)
      print('## Workload: 3 sequential steps')
      print()
      print(text)
      print()
      const cpu = Object.entries(results.redisCpuUsPerWorkflow).filter(([, us]) => Number.isFinite(us))
      if (cpu.length) {
        print(
          table(
            ['Redis subject', 'redis-server CPU per workflow (µs)', 'Redis commands per workflow (INFO commandstats)'],
            cpu.map(([id, us]) => [
              SHORT[id] ?? id,
              sig(us),
              Object.entries(results.redisCommandsPerWorkflow[id] ?? {})
                .sort((a, b) => b[1] - a[1])
                .map(([cmd, perWf]) => `${cmd} ${sig(perWf)}`)
                .join(', '),
            ]),
          ),
        )
        print()
      }
    }

    if (parts.has('hooks')) {
      log('hooks')
      try {
        const hooks = await runChild<{ usPerStep: Record<HookVariant, number>; samples: Record<HookVariant, number[]> }>(
          'hooks-case.ts',
          hooksConfig,
        )
        results.hooks = hooks
        const { text, verdicts } = hooksReport(hooks.samples)
        results.verdicts.push(...verdicts)
        print(`## Hooks: cost per step (${hooksConfig.steps}-step workflow, memory store, sequential)`)
        print()
        print(text)
      } catch (error) {
        failures++
        results.hooks = { error: errorOf(error) }
        print('## Hooks')
        print()
        print(`hooks: error: ${clip(errorOf(error))}`)
      }
      print()
    }

    const scaleOptions = {
      stores: storesFor.filter((s) => s !== 'redis' || redis),
      sizes,
      timers: smoke ? 20 : 500,
      spreadMs: smoke ? 200 : 5_000,
      leadMs: smoke ? 300 : 2_000,
      resumeSteps: list('steps')?.map(Number) ?? (smoke ? [10, 100] : [10, 100, 1_000, 10_000]),
      dir,
      redisUrl: redis?.url,
      parallel: smoke,
      log,
    }
    if ((parts.has('scale') || parts.has('resume')) && !redis) {
      failures++
      print('redis: error: redis-server not available, the Redis scale and resume rows are missing')
    }
    if (parts.has('scale')) {
      try {
        if (redis) await flushRedis(redis.url)
        const rows = await runScale(scaleOptions)
        results.scale = rows
        print(`## Scale: sleeping runs in one store; a fresh engine starts on it and fires ${scaleOptions.timers} short timers`)
        print()
        print(scaleTable(rows))
      } catch (error) {
        failures++
        results.scale = { error: errorOf(error) }
        print('## Scale')
        print()
        print(`scale: error: ${clip(errorOf(error))}`)
      }
      print()
    }
    if (parts.has('resume')) {
      try {
        const rows = await runResume(scaleOptions)
        results.resume = rows
        print('## Resume: a fresh engine replays a run of N committed steps to its wait')
        print()
        print(resumeTable(rows))
      } catch (error) {
        failures++
        results.resume = { error: errorOf(error) }
        print('## Resume')
        print()
        print(`resume: error: ${clip(errorOf(error))}`)
      }
      print()
    }
    if (parts.has('list')) {
      const stores = storesFor.filter((s) => s !== 'redis' || redis)
      results.list = await listSection({ stores, sizes, dir, redisUrl: redis?.url, rounds: smoke ? 5 : 60, log }, print)
      if (!isOk(results.list)) failures++
    }
    if (parts.has('flow')) {
      const flushFlow = async () => (redis ? flushRedis(redis.url) : undefined)
      results.flow = await flowSection({ smoke, reps, dir, redisUrl: redis?.url, flushRedis: flushFlow, log }, print)
      if (!isOk(results.flow)) failures++
    }
    if (parts.has('scale') || parts.has('resume')) {
      results.verdicts.push(...scaleVerdicts(isOk(results.scale) ? results.scale : [], isOk(results.resume) ? results.resume : []))
    }

    print('## Targets: issue 8, round 3 (issue 18) and no worse than round 2 (ratios measured in this run)')
    print()
    print(verdictTable(results.verdicts))
    print()
    const met = results.verdicts.filter((v) => v.met === true).length
    const judged = results.verdicts.filter((v) => v.met !== undefined).length
    print(`targets met: ${met} of ${judged}; ${yesNo(failures === 0)} without errors (${failures} failed)`)
  } finally {
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  const out = option('json') ?? join(tmpdir(), `do-sdk-bench-${started}.json`)
  writeFileSync(out, JSON.stringify(results, null, 2))
  log(`results: ${out}; took ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return failures
}

main().then(
  (failures) => process.exit(failures > 0 ? 1 : 0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
