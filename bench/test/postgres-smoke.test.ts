// Runs `pnpm --filter @do-sdk/bench postgres --smoke` (tiny sizes) as a child process, so the
// PostgreSQL benchmark keeps working. No timing is asserted: targets belong to the report. Under
// CI=true a missing PostgreSQL fails (the bench cannot start its server); elsewhere it is skipped.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { havePostgres } from '../../packages/store-postgres/test/postgres-server.js'
import { rowOf, runBenchScript } from './bench-child.js'

const out = mkdtempSync(join(tmpdir(), 'do-sdk-bench-pg-smoke-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

const LABELS = [
  'raw: 3 INSERTs, pg, a transaction each',
  'do-sdk, postgresStore',
  "postgresStore alone: a workflow's 4 batches, no engine",
  'DBOS Transact, runStep × 3',
  'TanStack Workflow, Drizzle/Postgres store',
]

describe.skipIf(!havePostgres())('pnpm --filter @do-sdk/bench postgres --smoke', () => {
  it('measures every subject, prints the ratios and the targets, and writes JSON', async () => {
    const result = await runBenchScript('postgres.ts', ['--smoke', `--json=${join(out, 'pg.json')}`], { DO_SDK_BENCH_SRC: '1' })
    expect(result.code, result.stderr).toBe(0)
    for (const label of LABELS) {
      const cells = rowOf(result.stdout, label)
      expect(cells?.[1], `sequential latency of "${label}"`).toMatch(/^\d/)
      expect(cells?.[2], `throughput of "${label}"`).toMatch(/^\d/)
    }
    expect(result.stdout).toMatch(/\| PostgreSQL: sequential latency per workflow within 2× of raw 3 INSERTs \| .* \| (MET|not met) +\|/)
    expect(result.stdout).toMatch(/\| PostgreSQL: throughput at least 5× DBOS +\| .* \| (MET|not met) +\|/)
    const json = JSON.parse(readFileSync(join(out, 'pg.json'), 'utf8')) as { results: Record<string, unknown> }
    expect(Object.keys(json.results).sort()).toEqual([
      'dbos-postgres',
      'do-postgres',
      'raw-postgres',
      'store-postgres',
      'tanstack-postgres',
    ])
  }, 600_000)
})
