// `do-sdk runs …` against a SQLite file that real engines wrote: the test's engine triggers runs, a
// worker process executes them, and each command runs as its own process on the same file.
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Engine, RunInfo } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, cli, client, json, nextMs, startWorker, tempDir, type Worker, waitStatus, waitUntil } from './helpers.js'

let dir: string
let store: string
let outage: string
let engine: Engine
let worker: Worker
const ds = { close: async () => {} }

beforeAll(async () => {
  dir = tempDir()
  store = `sqlite:${join(dir, 'do.db')}`
  outage = join(dir, 'outage')
  writeFileSync(outage, 'the payment provider is down')
  const sqlite = sqliteStore({ path: join(dir, 'do.db') })
  ds.close = async () => sqlite.close?.()
  engine = client(sqlite)
  const { greet, approval, nap, charge } = await import('./fixtures/v1.js')
  // One millisecond apart at least, so that "newest first" is one order (runs of one ms sort by id).
  await engine.trigger(greet, { name: 'Ada' }, { id: 'greet-1' })
  await nextMs()
  await engine.trigger(approval, { item: 'book' }, { id: 'approval-1' })
  await nextMs()
  await engine.trigger(nap, {}, { id: 'nap-1' })
  await nextMs()
  await engine.trigger(nap, {}, { id: 'nap-2' })
  await nextMs()
  await engine.trigger(charge, { amount: 5, outageFile: outage }, { id: 'charge-1' })
  worker = await startWorker(store)
  await waitStatus(engine, 'greet-1', 'completed')
  await waitStatus(engine, 'approval-1', 'waiting')
  await waitStatus(engine, 'nap-1', 'sleeping')
  await waitStatus(engine, 'nap-2', 'sleeping')
  await waitStatus(engine, 'charge-1', 'failed')
}, 90_000)

afterAll(async () => {
  await worker?.stop()
  await ds.close()
  await cleanup()
})

describe('reading runs', () => {
  it('runs list prints a table of every run, newest first', async () => {
    const r = await cli(['runs', 'list', '--store', store])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+STEP\s+CREATED\s+UPDATED$/)
    expect(lines.slice(1, 6).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['charge-1', 'charge@1', 'failed'],
      ['nap-2', 'nap@1', 'sleeping'],
      ['nap-1', 'nap@1', 'sleeping'],
      ['approval-1', 'approval@1', 'waiting'],
      ['greet-1', 'greet@1', 'completed'],
    ])
    expect(lines.at(-1)).toBe('5 runs')
  })

  it('runs list filters by status, workflow and id prefix, and --json prints one document', async () => {
    const ids = async (...args: string[]) =>
      json<{ runs: RunInfo[] }>(await cli(['runs', 'list', '--store', store, '--json', ...args])).runs.map((r) => r.id)
    expect(await ids('--status', 'waiting,sleeping')).toEqual(['nap-2', 'nap-1', 'approval-1'])
    expect(await ids('--status', 'failed', '--status', 'completed')).toEqual(['charge-1', 'greet-1'])
    expect(await ids('--workflow', 'nap')).toEqual(['nap-2', 'nap-1'])
    expect(await ids('--id-prefix', 'appr')).toEqual(['approval-1'])
    expect(await ids('--from', new Date(Date.now() + 60_000).toISOString())).toEqual([])
    expect(await ids('--to', '2000-01-01')).toEqual([])
    const doc = json<{ runs: Record<string, unknown>[] }>(await cli(['runs', 'list', '--store', store, '--json', '--workflow', 'greet']))
    expect(doc.runs[0]).toMatchObject({ id: 'greet-1', workflowId: 'greet', status: 'completed', output: { message: 'hello Ada' } })
    expect(doc.runs[0]).not.toHaveProperty('steps')
  })

  it('runs list pages with --limit and --cursor', async () => {
    const first = json<{ runs: RunInfo[]; nextCursor?: string }>(await cli(['runs', 'list', '--store', store, '--json', '--limit', '2']))
    expect(first.runs.map((r) => r.id)).toEqual(['charge-1', 'nap-2'])
    expect(first.nextCursor).toEqual(expect.any(String))
    const human = await cli(['runs', 'list', '--store', store, '--limit', '2'])
    expect(human.stdout).toContain(`2 runs shown; more: add --cursor ${first.nextCursor}`)
    const rest = json<{ runs: RunInfo[]; nextCursor?: string }>(
      await cli(['runs', 'list', '--store', store, '--json', '--limit', '10', '--cursor', first.nextCursor as string]),
    )
    expect(rest.runs.map((r) => r.id)).toEqual(['nap-1', 'approval-1', 'greet-1'])
    expect(rest.nextCursor).toBeUndefined()
  })

  it('runs count counts runs by workflow and status', async () => {
    expect((await cli(['runs', 'count', '--store', store])).stdout).toBe('5\n')
    expect((await cli(['runs', 'count', '--store', store, '--workflow', 'nap'])).stdout).toBe('2\n')
    expect(json(await cli(['runs', 'count', '--store', store, '--status', 'failed,waiting', '--json']))).toEqual({ count: 2 })
  })

  it('runs show prints the record, the steps as a timeline with durations and attempts, and the errors', async () => {
    const greet = await cli(['runs', 'show', 'greet-1', '--store', store])
    expect(greet.code).toBe(0)
    expect(greet.stdout).toMatch(/^Run\s+greet-1$/m)
    expect(greet.stdout).toMatch(/^Workflow\s+greet \(version 1\)$/m)
    expect(greet.stdout).toMatch(/^Status\s+completed$/m)
    expect(greet.stdout).toMatch(/^Output\s+\{"message":"hello Ada"\}$/m)
    expect(greet.stdout).toMatch(/^Steps \(1\)$/m)
    expect(greet.stdout).toMatch(/^#\s+STEP\s+KIND\s+STATUS\s+START\s+DURATION\s+ATTEMPTS\s+DETAIL$/m)
    // Two attempts: the first failed with "warming up".
    expect(greet.stdout).toMatch(/^1\s+hello#1\s+fn\s+completed\s+\+\d+(ms|\.\ds)\s+\d+(ms|\.\ds)\s+2\s+= "hello Ada"$/m)

    const charge = await cli(['runs', 'show', 'charge-1', '--store', store])
    expect(charge.stdout).toMatch(/^Status\s+failed$/m)
    expect(charge.stdout).toMatch(/^Error\s+NonRetryableError \(ERR_NON_RETRYABLE\): payment provider down$/m)
    expect(charge.stdout).toMatch(/^1\s+quote#1\s+fn\s+completed/m)
    expect(charge.stdout).toMatch(
      /^2\s+charge#1\s+fn\s+failed\s+\S+\s+\S+\s+1\s+NonRetryableError \(ERR_NON_RETRYABLE\): payment provider down$/m,
    )
    expect(charge.stdout).toMatch(/^Errors\nstep charge#1: NonRetryableError/m)

    const approval = await cli(['runs', 'show', 'approval-1', '--store', store])
    expect(approval.stdout).toMatch(/^Status\s+waiting for approved$/m)
    expect(approval.stdout).toMatch(/^2\s+wait:approved#1\s+wait\s+waiting\s+\S+\s+\S+…\s+until \S+Z \(in 23h59m\)$/m)

    const nap = json<RunInfo>(await cli(['runs', 'show', 'nap-1', '--store', store, '--json']))
    expect(nap).toMatchObject({ id: 'nap-1', status: 'sleeping', workflowId: 'nap' })
    expect(nap.steps.map((s) => [s.id, s.kind, s.status])).toEqual([
      ['before-nap#1', 'fn', 'completed'],
      ['sleep#1', 'sleep', 'sleeping'],
    ])
  })

  it('runs show of an unknown run exits 1 saying so', async () => {
    const r = await cli(['runs', 'show', 'nope', '--store', store])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('do-sdk: Run "nope" not found\n')
    expect(r.stdout).toBe('')
  })
})

describe('changing runs', () => {
  it('runs signal delivers a signal to a waiting run, which a worker then completes', async () => {
    const r = await cli(['runs', 'signal', 'approval-1', 'approved', '--payload', '{"by":"ops"}', '--store', store])
    expect(r).toMatchObject({ code: 0, stdout: 'Signal "approved" stored for run approval-1.\n' })
    const done = await waitStatus(engine, 'approval-1', 'completed')
    expect(done.output).toEqual({ item: 'book', approvedBy: 'ops' })
    // The run has finished: nothing is sent, exit 1.
    const late = await cli(['runs', 'signal', 'approval-1', 'approved', '--payload', '{"by":"late"}', '--store', store, '--json'])
    expect(late.code).toBe(1)
    expect(json(late)).toEqual({ runId: 'approval-1', name: 'approved', stored: false, status: 'completed' })
  })

  it('runs signal with --workflows checks the payload against the declared signal, and sends nothing when it does not fit', async () => {
    await engine.trigger((await import('./fixtures/v1.js')).approval, { item: 'pen' }, { id: 'approval-2' })
    await waitStatus(engine, 'approval-2', 'waiting')
    const bad = await cli(['runs', 'signal', 'approval-2', 'approved', '--payload', '{"by":7}', '--workflows', './v1.js', '--store', store])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^do-sdk: Invalid payload of signal "approved" to run "approval-2": by: /)
    const good = await cli([
      'runs',
      'signal',
      'approval-2',
      'approved',
      '--payload',
      '{"by":"ops"}',
      '--workflows',
      './v1.js',
      '--store',
      store,
    ])
    expect(good.code).toBe(0)
    expect((await waitStatus(engine, 'approval-2', 'completed')).output).toEqual({ item: 'pen', approvedBy: 'ops' })
  })

  it('runs cancel cancels a sleeping run with the reason, and exits 1 for a run that had finished', async () => {
    const r = await cli(['runs', 'cancel', 'nap-1', '--reason', 'no longer needed', '--store', store])
    expect(r).toMatchObject({ code: 0, stdout: 'Cancelled run nap-1 (no longer needed).\n' })
    const run = await engine.getRun('nap-1')
    expect(run.status).toBe('cancelled')
    expect(run.error?.message).toBe('no longer needed')
    const again = await cli(['runs', 'cancel', 'nap-1', '--store', store])
    expect(again).toMatchObject({ code: 1, stderr: 'do-sdk: Run nap-1 is already cancelled: nothing to cancel.\n' })
  })

  it('runs cancel of a run another process is executing stores the request, and that process cancels it', async () => {
    const { block } = await import('./fixtures/v1.js')
    await engine.trigger(block, { releaseFile: join(dir, 'never') }, { id: 'block-1' })
    await waitUntil('the worker to execute block-1', async () => {
      const run = await engine.getRun('block-1')
      return run.status === 'running' && run.owner !== undefined
    })
    const r = await cli(['runs', 'cancel', 'block-1', '--store', store, '--json'])
    expect(r.code).toBe(0)
    expect(json(r)).toMatchObject({ runId: 'block-1', result: 'requested', status: 'running', engine: expect.any(String) })
    const run = await waitStatus(engine, 'block-1', 'cancelled')
    expect(run.error?.message).toBe('cancelled by request')
  })

  it('runs retry resumes a failed run from its failed step once the cause is fixed', async () => {
    const refused = await cli(['runs', 'retry', 'greet-1', '--store', store])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe('do-sdk: Run "greet-1" is completed; only failed runs can be retried\n')
    const before = await engine.getRun('charge-1')
    rmSync(outage)
    const r = await cli(['runs', 'retry', 'charge-1', '--store', store, '--json'])
    expect(r.code).toBe(0)
    expect(json(r)).toMatchObject({ runId: 'charge-1', retries: 1 })
    const done = await waitStatus(engine, 'charge-1', 'completed')
    // The quote was not taken again: the retry went on from the failed step.
    expect(done.output).toEqual({ quoteId: (before.steps[0]!.output as { quoteId: string }).quoteId, charged: 5 })
  })

  it('runs fork starts a new run reusing the steps before --from-step, on the code from --workflows', async () => {
    const source = await engine.getRun('charge-1')
    const input = JSON.stringify({ amount: 7, outageFile: outage })
    const fork = ['runs', 'fork', 'charge-1', '--from-step', 'charge#1', '--workflows', './v1.js', '--store', store]
    const r = await cli([...fork, '--input', input, '--id', 'charge-1-again'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^Forked run charge-1 at step charge#1: new run charge-1-again \(pending; /)
    const forked = await waitStatus(engine, 'charge-1-again', 'completed')
    expect(forked.output).toEqual({ quoteId: (source.output as { quoteId: string }).quoteId, charged: 7 })
    const unknownStep = await cli(['runs', 'fork', 'charge-1', '--from-step', 'refund#1', '--workflows', './v1.js', '--store', store])
    expect(unknownStep.code).toBe(1)
    expect(unknownStep.stderr).toContain('has no step "refund#1" (its steps: quote#1, charge#1)')
  })
})
