// `pnpm --filter @do-sdk/bench pg-floor`: what PostgreSQL alone spends on the rows one do-sdk workflow
// writes, with no Node.js in the way. One workflow of the bench's workload (3 sequential steps) runs
// on a recording memory store; its batches become the calls of the batch function that postgresStore
// would send (the store's own planning code), replayed by `pgbench` (C, prepared statements, one
// connection, a fresh run id per replay) on a durable server started here, beside the raw baseline
// (one INSERT per step) and variants that leave classes of rows out. Each script runs once per
// round, all in one run; ratios are taken against the raw row of the same round. After every run
// the rows left in the table are counted against what the script must leave, so a replay whose
// conditions failed (and wrote nothing) cannot pass for a fast one. Flags: --smoke (20 replays
// each, for CI), --rounds=5, --seconds=6.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { WriteOp } from '@do-sdk/core'
import { postgresStore } from '@do-sdk/store-postgres'
import { callParams, planCall } from '../../packages/store-postgres/src/batch-plan.js'
import { quoteIdent, statements } from '../../packages/store-postgres/src/schema.js'
import { postgresBinDir, startPostgres } from '../../packages/store-postgres/test/postgres-server.js'
import { cliArgs } from './cli.js'
import { sig, table, times } from './format.js'
import { machineInfo } from './machine.js'
import { median, pairedRatio } from './measure.js'
import { recordWorkflow, uuidOf } from './record-workflow.js'

const run = promisify(execFile)
const { flag, option } = cliArgs()
const smoke = flag('smoke')
const rounds = Number(option('rounds') ?? (smoke ? 1 : 5))
const seconds = Number(option('seconds') ?? 6)
const print = (line = '') => process.stdout.write(`${line}\n`)
const NS = 'floor'

/** A script: SQL for pgbench, what one replay commits and writes, and the rows it leaves in its table. */
export interface Script {
  label: string
  commits: number
  writes: number
  sql: string
  /** Rows one replay leaves, and the query counting them. */
  leaves: number
  count: string
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`

/**
 * SQL for pgbench from the recorded batches: every occurrence of the run's uuid becomes a fresh,
 * same-length id per replay (`:id`, a random number padded to 36 characters).
 */
const renderer = (runId: string) => {
  const uuid = uuidOf(runId)
  const text = (s: string) => literal(s).split(uuid).join(`' || lpad(:id::text, ${uuid.length}, '0') || '`)
  const value = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL'
    if (typeof v === 'string') return text(v)
    if (typeof v === 'number' || typeof v === 'boolean') return String(v)
    if (Array.isArray(v)) return `ARRAY[${v.map(value).join(', ')}]`
    throw new Error(`cannot render ${typeof v}`)
  }
  return { text, value }
}

/** Keys left by the batches, applied in order. */
const liveAfter = (batches: WriteOp[][]) => {
  const live = new Set<string>()
  for (const ops of batches)
    for (const op of ops) {
      if (op.op === 'set') live.add(op.key)
      else if (op.op === 'delete') live.delete(op.key)
    }
  return live.size
}

const writesOf = (batches: WriteOp[][]) => batches.flat().filter((op) => op.op !== 'check').length

/** The workflow's batches as postgresStore sends them: one call of the batch function each. */
export const batchScript = (label: string, runId: string, batches: WriteOp[][], schema = 'public'): Script => {
  const r = renderer(runId)
  const call = statements(quoteIdent(schema)).batch
  const lines = batches.map((ops) => {
    const { rows } = planCall([ops], (_, error) => {
      throw error
    })
    const params = callParams(NS, rows)
    return `${call.replace(/\$(\d+)/g, (_, n: string) => r.value(params[Number(n) - 1]))};`
  })
  return {
    label,
    commits: batches.length,
    writes: writesOf(batches),
    sql: ['\\set id random(1, 9000000000000000000)', ...lines].join('\n'),
    leaves: liveAfter(batches),
    count: `SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.do_entries WHERE ns = '${NS}'`,
  }
}

/**
 * The same reads and writes as plain statements (a `SELECT` per check, `INSERT`, `UPDATE`, `DELETE`),
 * each batch a transaction sent as one pipeline: no function, no advisory locks, no conditions.
 */
export const plainScript = (label: string, runId: string, batches: WriteOp[][], schema = 'public'): Script => {
  const r = renderer(runId)
  const t = `${quoteIdent(schema)}.do_entries`
  const live = new Set<string>()
  const lines = ['\\set id random(1, 9000000000000000000)']
  for (const ops of batches) {
    lines.push('\\startpipeline', 'BEGIN;')
    for (const op of ops) {
      const where = `ns = '${NS}' AND key = ${r.text(op.key)}`
      if (op.op === 'check') lines.push(`SELECT version FROM ${t} WHERE ${where};`)
      else if (op.op === 'delete') {
        lines.push(`DELETE FROM ${t} WHERE ${where};`)
        live.delete(op.key)
      } else if (live.has(op.key)) lines.push(`UPDATE ${t} SET value = ${r.text(op.value)}, version = version + 1 WHERE ${where};`)
      else {
        lines.push(`INSERT INTO ${t} (ns, key, value, version) VALUES ('${NS}', ${r.text(op.key)}, ${r.text(op.value)}, 1);`)
        live.add(op.key)
      }
    }
    lines.push('COMMIT;', '\\endpipeline')
  }
  return {
    label,
    commits: batches.length,
    writes: writesOf(batches),
    sql: lines.join('\n'),
    leaves: live.size,
    count: `SELECT count(*)::int AS n FROM ${t} WHERE ns = '${NS}'`,
  }
}

/** The baseline: `steps` INSERTs, each its own transaction (the bench's raw-postgres subject's statement). */
export const rawScript = (label: string, steps: number): Script => ({
  label,
  commits: steps,
  writes: steps,
  sql: [
    '\\set id random(1, 9000000000000000000)',
    ...Array.from({ length: steps }, (_, i) => `INSERT INTO steps (run, step, value) VALUES ('r' || :id, ${i + 1}, '{"i":${i + 1}}');`),
  ].join('\n'),
  leaves: steps,
  count: 'SELECT count(*)::int AS n FROM steps',
})

/** The scripts compared, the raw baseline first. */
export const floorScripts = (runId: string, batches: WriteOp[][]): Script[] => {
  const without = (...prefixes: string[]) =>
    batches.map((ops) => ops.filter((op) => !prefixes.some((p) => op.key.startsWith(p)))).filter((ops) => ops.length > 0)
  return [
    rawScript('raw: 3 INSERTs, a transaction each', 3),
    rawScript('4 INSERTs, a transaction each (one commit more)', 4),
    batchScript("do-sdk: the workflow's 4 batches, as postgresStore sends them", runId, batches),
    plainScript('the same rows by plain statements (no function, no locks, pipelined)', runId, batches),
    batchScript('do-sdk without its due entries', runId, without('due/')),
    batchScript('do-sdk without due and run-index entries', runId, without('due/', 'ix/')),
  ]
}

const field = (out: string, pattern: RegExp, what: string) => {
  const m = out.match(pattern)
  if (!m) throw new Error(`pgbench printed no ${what}:\n${out}`)
  return Number(m[1])
}

/** Latencies (ms per replay) of each script, one per round, and the server's version. */
export interface Measured {
  version: string
  latency: number[][]
}

/**
 * Starts a durable server, creates the store's schema (by opening a postgresStore) and the raw table,
 * then runs each script once per round with `pgbench` (`limit`: `-T seconds` or `-t replays`), on
 * emptied tables after a checkpoint. Throws when a run failed a transaction, or left other than
 * `leaves` rows per replay.
 */
export const measureScripts = async (scripts: Script[], opts: { rounds: number; limit: string[] }): Promise<Measured> => {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL not found (initdb, pg_ctl, pgbench): apt-get install -y postgresql')
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-pg-floor-'))
  const server = await startPostgres({ durable: true })
  try {
    const url = await server.createDatabase('floor')
    const store = postgresStore({ connectionString: url }, { namespace: NS })
    await store.get('floor') // opens the store: creates the table and the batch function
    await store.close?.()
    await server.admin('CREATE TABLE steps (run text NOT NULL, step int NOT NULL, value text NOT NULL, PRIMARY KEY (run, step))', 'floor')
    await server.admin('GRANT ALL ON steps TO app', 'floor')
    // Prepared statements keep a plan made on the emptied table; a sequential scan planned there would
    // grow with the table (the batch function sets the same two settings on itself).
    await server.admin('ALTER DATABASE floor SET enable_seqscan = off', 'floor')
    await server.admin('ALTER DATABASE floor SET enable_bitmapscan = off', 'floor')
    const files = scripts.map((s, i) => {
      const file = join(dir, `script-${i}.sql`)
      writeFileSync(file, `${s.sql}\n`)
      return file
    })
    const latency: number[][] = scripts.map(() => [])
    for (let round = 0; round < opts.rounds; round++) {
      for (const [i, s] of scripts.entries()) {
        await server.admin('TRUNCATE steps, do_entries', 'floor')
        await server.admin('CHECKPOINT', 'floor')
        const args = ['-n', '-M', 'prepared', '-c', '1', ...opts.limit, '-f', files[i] as string]
        const { stdout } = await run(
          join(bin, 'pgbench'),
          [...args, '-h', server.host, '-p', String(server.port), '-U', server.user, 'floor'],
          {
            maxBuffer: 1 << 24,
            env: { ...process.env, PGPASSWORD: server.password },
          },
        )
        const done = field(stdout, /number of transactions actually processed: (\d+)/, 'transaction count')
        const failed = field(stdout, /number of failed transactions: (\d+)/, 'failure count')
        const left = Number((await server.admin(s.count, 'floor')).rows[0]?.n)
        if (failed !== 0 || done === 0 || left !== done * s.leaves)
          throw new Error(`"${s.label}": ${done} replays (${failed} failed) left ${left} rows, expected ${done * s.leaves}`)
        latency[i]?.push(field(stdout, /latency average = ([\d.]+) ms/, 'latency'))
      }
    }
    return { version: server.version, latency }
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const main = async () => {
  const { runId, batches } = await recordWorkflow()
  const scripts = floorScripts(runId, batches)
  const { version, latency } = await measureScripts(scripts, { rounds, limit: smoke ? ['-t', '20'] : ['-T', String(seconds)] })
  const raw = latency[0] as number[]
  /** A median and its range over rounds, `[median, min, max]`. */
  const range = ([m, lo, hi]: number[], f: (x: number) => string) =>
    rounds > 1 ? `${f(m as number)} (${f(lo as number)}–${f(hi as number)})` : f(m as number)
  print(`# What PostgreSQL spends on one workflow's rows${smoke ? ' (smoke: 20 replays, the numbers mean nothing)' : ''}`)
  print()
  for (const line of machineInfo().slice(0, 2)) print(`- ${line}`)
  print(`- PostgreSQL ${version}, durable defaults (fsync, synchronous_commit on); pgbench, prepared, one connection`)
  print(`- ${smoke ? '20 replays' : `${seconds} s`} per script per round, ${rounds} round(s), medians (and range) over rounds`)
  print()
  print(
    table(
      ['script', 'commits', 'rows written', 'ms per workflow', '× raw, same round'],
      scripts.map((s, i) => {
        const l = latency[i] as number[]
        return [
          s.label,
          String(s.commits),
          String(s.writes),
          range([median(l), Math.min(...l), Math.max(...l)], sig),
          i === 0 ? '' : range(pairedRatio(l, raw), times),
        ]
      }),
    ),
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
