// `pnpm --filter @do-sdk/bench postgres`: the 3-step workload on PostgreSQL, in one run on one server
// started here (initdb + pg_ctl from the Debian package, durable defaults: fsync and
// synchronous_commit on): do-sdk's postgresStore against one INSERT per step (the raw speed of the
// store underneath), postgresStore alone (the workflow's batches without the engine), DBOS Transact and
// TanStack Workflow's Drizzle/Postgres store. Each repetition runs
// every subject once, each in a fresh child process, one at a time, on a database of its own; ratios
// are medians of the repetitions' ratios (paired). Flags: --smoke (tiny sizes, for CI), --reps=3,
// --only=do-postgres,raw-postgres, --json=<file>.
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PostgresServer, startPostgres } from '../../packages/store-postgres/test/postgres-server.js'
import type { CaseConfig, CaseResult } from './case.js'
import { workflowsRun } from './case-runs.js'
import { BENCH_DIR, runChild } from './child.js'
import { cliArgs } from './cli.js'
import { int, sig, table, times, withSpread, yesNo } from './format.js'
import { machineInfo } from './machine.js'
import { pairedRatio } from './measure.js'
import type { Verdict } from './scale.js'

/** The rows of the PostgreSQL table; ratios are taken against the subjects named. */
export const PG_ROWS = [
  { id: 'raw-postgres', label: 'raw: 3 INSERTs, pg, a transaction each', seqRuns: 1_000, seqVs: [], tputVs: [] },
  {
    id: 'do-postgres',
    label: 'do-sdk, postgresStore',
    seqRuns: 500,
    seqVs: ['raw-postgres', 'store-postgres', 'dbos-postgres', 'tanstack-postgres'],
    tputVs: ['raw-postgres', 'dbos-postgres', 'tanstack-postgres'],
  },
  {
    id: 'store-postgres',
    label: "postgresStore alone: a workflow's 4 batches, no engine",
    seqRuns: 1_000,
    seqVs: ['raw-postgres'],
    tputVs: ['raw-postgres'],
  },
  { id: 'dbos-postgres', label: 'DBOS Transact, runStep × 3', seqRuns: 300, seqVs: ['raw-postgres'], tputVs: ['raw-postgres'] },
  {
    id: 'tanstack-postgres',
    label: 'TanStack Workflow, Drizzle/Postgres store',
    seqRuns: 200,
    seqVs: ['raw-postgres'],
    tputVs: ['raw-postgres'],
  },
] as const

const SHORT: Record<string, string> = {
  'raw-postgres': 'raw pg',
  'do-postgres': 'do-sdk pg',
  'store-postgres': 'store alone',
  'dbos-postgres': 'DBOS',
  'tanstack-postgres': 'TanStack',
}

const { flag, option, list } = cliArgs()
const smoke = flag('smoke')
const reps = Number(option('reps') ?? (smoke ? 1 : 3))
const only = list('only')
const log = (line: string) => process.stderr.write(`[bench:postgres] ${line}\n`)
const print = (line = '') => process.stdout.write(`${line}\n`)
const errorOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

type Outcome = CaseResult | { error: string }
const isOk = (x: Outcome | undefined): x is CaseResult => x !== undefined && !('error' in x)

/** The repetitions of `one` (a child's single repetition) appended to those of `so` far. */
const merge = (so: CaseResult | undefined, one: CaseResult): CaseResult =>
  so === undefined
    ? one
    : {
        subject: one.subject,
        seq: [...so.seq, ...one.seq],
        tput: [...so.tput, ...one.tput],
        seqCpuUs: [...so.seqCpuUs, ...one.seqCpuUs],
        tputCpuUs: [...so.tputCpuUs, ...one.tputCpuUs],
        windowUs: [so.windowUs[0], one.windowUs[1]],
      }

/** The database of a subject: its id, `-` as `_`. */
const databaseOf = (id: string) => id.replace(/-/g, '_')

/** Commits (`xact_commit`) of a database so far. */
const commitsOf = async (server: PostgresServer, database: string) =>
  Number((await server.admin(`SELECT xact_commit FROM pg_stat_database WHERE datname = '${database}'`)).rows[0]?.xact_commit ?? 0)

const versionOf = (name: string) => {
  try {
    return (JSON.parse(readFileSync(join(BENCH_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

const main = async () => {
  const started = Date.now()
  const server = await startPostgres({ durable: true, settings: { max_connections: '200' } })
  const settings = await server.admin(
    "SELECT string_agg(name || '=' || setting, ', ') AS s FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers')",
  )
  const results: Record<string, Outcome> = {}
  const commits: Record<string, number> = {}
  print(`# do-sdk on PostgreSQL${smoke ? ' (smoke: tiny sizes, the numbers mean nothing)' : ''}`)
  print()
  for (const line of machineInfo().slice(0, 2)) print(`- ${line}`)
  print(
    `- PostgreSQL ${server.version} (${settings.rows[0]?.s}), on 127.0.0.1, one server for every subject, a database each; pg ${versionOf('pg')}, pool of 10 connections per subject`,
  )
  print(
    `- peers: @dbos-inc/dbos-sdk ${versionOf('@dbos-inc/dbos-sdk')}, @tanstack/workflow-core ${versionOf('@tanstack/workflow-core')} + workflow-runtime ${versionOf('@tanstack/workflow-runtime')} + workflow-store-drizzle-postgres ${versionOf('@tanstack/workflow-store-drizzle-postgres')}`,
  )
  print(
    `- workload: a workflow of 3 sequential steps, each returning a small JSON object; medians of ${reps} repetitions (± half the spread)`,
  )
  print()
  let failures = 0
  const rows = PG_ROWS.filter((r) => !only || only.includes(r.id))
  const configOf = (id: string, seqRuns: number): CaseConfig => ({
    subject: id,
    seqRuns: smoke ? 10 : seqRuns,
    seqWarmup: smoke ? 3 : seqRuns, // a fresh process per repetition: as many warm-up runs as measured ones
    tputRuns: smoke ? 100 : 2_000,
    concurrency: 50,
    reps: 1,
    parts: ['seq', 'tput'],
  })
  const urls: Record<string, string> = {}
  const workflows: Record<string, number> = {}
  try {
    for (const row of rows) {
      urls[row.id] = await server.createDatabase(databaseOf(row.id))
    }
    // One repetition of every subject, then the next: the machine's drift between repetitions hits
    // every subject alike, and each latency ratio is taken within one repetition (paired). The order
    // flips every repetition, so no subject always runs first.
    for (let rep = 0; rep < reps; rep++) {
      for (const row of rep % 2 === 0 ? rows : [...rows].reverse()) {
        if (results[row.id] && !isOk(results[row.id])) continue // failed in an earlier repetition
        const t0 = Date.now()
        try {
          process.env.DO_SDK_BENCH_PG_URL = urls[row.id] // inherited by the child
          const config = configOf(row.id, row.seqRuns)
          const before = await commitsOf(server, databaseOf(row.id))
          const one = await runChild<CaseResult>('case.ts', config, { timeoutMs: 900_000 })
          await new Promise((r) => setTimeout(r, 1_000)) // backends flush their statistics when they exit
          commits[row.id] = (commits[row.id] ?? 0) + ((await commitsOf(server, databaseOf(row.id))) - before)
          workflows[row.id] = (workflows[row.id] ?? 0) + workflowsRun(config)
          results[row.id] = merge(results[row.id] as CaseResult | undefined, one)
        } catch (error) {
          failures++
          results[row.id] = { error: errorOf(error) }
          log(`${row.id}: ${errorOf(error)}`)
        }
        log(
          `${row.id}, repetition ${rep + 1} of ${reps}: ${isOk(results[row.id]) ? 'done' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        )
      }
    }
    for (const row of rows) commits[row.id] = (commits[row.id] ?? 0) / (workflows[row.id] || Number.NaN)
  } finally {
    await server.stop()
  }

  /** `a`'s value over `b`'s, repetition by repetition: `[median, min, max]`. */
  const paired = (a: string, b: string, kind: 'seq' | 'tput') => {
    const x = results[a]
    const y = results[b]
    return isOk(x) && isOk(y) ? pairedRatio(x[kind], y[kind]) : [Number.NaN, Number.NaN, Number.NaN]
  }
  print('## Workload: 3 sequential steps, PostgreSQL')
  print()
  print(
    table(
      [
        'system',
        'sequential ms / workflow',
        'workflows / s (2,000 at c=50)',
        'commits / workflow',
        'latency ÷ (paired)',
        'throughput ÷ (paired)',
      ],
      PG_ROWS.filter((r) => results[r.id]).map((r) => {
        const c = results[r.id]
        if (!isOk(c)) return [r.label, 'error', 'error', '', (c?.error ?? '').slice(0, 80), '']
        const ratios = (vs: readonly string[], kind: 'seq' | 'tput') =>
          vs
            .filter((v) => results[v])
            .map((v) => `${times(paired(r.id, v, kind)[0])} ${SHORT[v]}`)
            .join('; ')
        return [
          r.label,
          withSpread(c.seq, sig),
          withSpread(c.tput, int),
          sig(commits[r.id] ?? Number.NaN),
          ratios(r.seqVs, 'seq'),
          ratios(r.tputVs, 'tput'),
        ]
      }),
    ),
  )
  print()
  const verdicts: Verdict[] = []
  const ratio = (target: string, a: string, b: string, kind: 'seq' | 'tput', limit: number) => {
    if (!results[a] || !results[b]) return
    const [r, lo, hi] = paired(a, b, kind)
    const met = Number.isFinite(r) ? (kind === 'seq' ? r <= limit : r >= limit) : undefined
    const range = reps > 1 ? `; median of ${reps} paired repetitions, ${times(lo)}–${times(hi)}` : ''
    verdicts.push({ target, measured: `${times(r)} (${SHORT[a]} / ${SHORT[b]}${range})`, met })
  }
  ratio('PostgreSQL: sequential latency per workflow within 2× of raw 3 INSERTs', 'do-postgres', 'raw-postgres', 'seq', 2)
  ratio('PostgreSQL: throughput at least 5× DBOS', 'do-postgres', 'dbos-postgres', 'tput', 5)
  print("## The PostgreSQL store's targets (ratios measured in this run)")
  print()
  print(
    table(
      ['target', 'measured', 'result'],
      verdicts.map((v) => [v.target, v.measured, yesNo(v.met)]),
    ),
  )
  print()
  const met = verdicts.filter((v) => v.met === true).length
  print(`targets met: ${met} of ${verdicts.length}; ${yesNo(failures === 0)} without errors (${failures} failed)`)
  const out = option('json') ?? join(tmpdir(), `do-sdk-bench-postgres-${started}.json`)
  writeFileSync(out, JSON.stringify({ results, commitsPerWorkflow: commits, verdicts }, null, 2))
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
