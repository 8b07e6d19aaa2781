// `pnpm --filter @do-sdk/bench pg-floor`: the scripts it replays are what the engine writes, every
// replay is checked against the rows it must leave, and the command prints its table. No timing is
// asserted. Under CI=true a missing PostgreSQL fails (the server cannot start); elsewhere it is skipped.
import type { WriteOp } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { havePostgres } from '../../packages/store-postgres/test/postgres-server.js'
import { batchScript, floorScripts, measureScripts, rawScript } from '../src/pg-floor.js'
import { recordWorkflow } from '../src/record-workflow.js'
import { runBenchScript, tableRows } from './bench-child.js'

describe('the recorded workflow', () => {
  it('is the trigger, one batch per step, the last one with the completion', async () => {
    const { runId, batches } = await recordWorkflow()
    expect(batches.map((ops) => ops.map((op) => `${op.op} ${op.key.split('/')[0]}`))).toEqual([
      ['set due', 'set ix', 'set run'],
      ['check inbox', 'check run', 'set jrn'],
      ['check inbox', 'check run', 'set jrn'],
      ['check inbox', 'set due', 'set ix', 'set jrn', 'set run', 'delete due', 'delete ix'],
    ])
    for (const op of batches.flat()) expect(op.key).toContain(runId)
  })

  it('becomes one call of the batch function per batch, the run id replaced by a fresh one per replay', async () => {
    const { runId, batches } = await recordWorkflow()
    const script = batchScript('do-sdk', runId, batches)
    const calls = script.sql.split('\n').filter((l) => l.startsWith('SELECT'))
    expect(calls).toHaveLength(4)
    expect(script.sql).not.toContain(runId)
    expect(calls.every((c) => c.includes('.do_batch_v2(') && c.includes('lpad(:id::text, 36'))).toBe(true)
    // What stays after the last batch: the gc due entry, the completed index entry, 3 journal entries, the record.
    expect(script.leaves).toBe(6)
    expect(script.writes).toBe(11)
  })
})

describe.skipIf(!havePostgres())('pg-floor on a real server', () => {
  it('replays every script and counts the rows each one left', async () => {
    const { runId, batches } = await recordWorkflow()
    const scripts = floorScripts(runId, batches)
    const { latency } = await measureScripts(scripts, { rounds: 1, limit: ['-t', '5'] })
    expect(latency).toHaveLength(scripts.length)
    for (const l of latency) expect(l[0]).toBeGreaterThan(0)
  }, 120_000)

  it('refuses a replay whose conditions fail (it writes nothing and would look fast)', async () => {
    const { runId, batches } = await recordWorkflow()
    const stale = batches.map((ops) =>
      ops.map((op): WriteOp => (op.op === 'check' && op.key.startsWith('run/') ? { ...op, ifVersion: 7 } : op)),
    )
    const scripts = [rawScript('raw', 3), batchScript('stale fencing token', runId, stale)]
    await expect(measureScripts(scripts, { rounds: 1, limit: ['-t', '5'] })).rejects.toThrow(
      /"stale fencing token": 5 replays \(0 failed\) left \d+ rows, expected 30/,
    )
  }, 120_000)

  it('pnpm pg-floor --smoke prints a row per script with its latency', async () => {
    const result = await runBenchScript('pg-floor.ts', ['--smoke'])
    expect(result.code, result.stderr).toBe(0)
    const rows = tableRows(result.stdout).filter((r) => r[0] !== 'script' && !r[0]?.startsWith('---'))
    expect(rows.map((r) => r[0])).toEqual([
      'raw: 3 INSERTs, a transaction each',
      '4 INSERTs, a transaction each (one commit more)',
      "do-sdk: the workflow's 4 batches, as postgresStore sends them",
      'the same rows by plain statements (no function, no locks, pipelined)',
      'do-sdk without its due entries',
      'do-sdk without due and run-index entries',
    ])
    for (const r of rows) expect(r[3], `latency of "${r[0]}"`).toMatch(/^\d/)
    for (const r of rows.slice(1)) expect(r[4], `ratio of "${r[0]}"`).toMatch(/^\d.*×$/)
  }, 120_000)
})
