// `do-sdk replay-check` with real processes on SQLite: a worker process runs workflows to a sleep
// and a wait on the deployed code (v1.js); then the CLI replays those runs against the next deploy.
import { join } from 'node:path'
import type { Datastore, Engine } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, cli, client, json, startWorker, tempDir, type Worker, waitStatus } from './helpers.js'

let store: string
let sqlite: Datastore
let engine: Engine
let worker: Worker

beforeAll(async () => {
  const dir = tempDir()
  store = `sqlite:${join(dir, 'do.db')}`
  sqlite = sqliteStore({ path: join(dir, 'do.db') })
  engine = client(sqlite)
  const { greet, approval, nap } = await import('./fixtures/v1.js')
  await engine.trigger(nap, {}, { id: 'nap-a' })
  await engine.trigger(nap, {}, { id: 'nap-b' })
  await engine.trigger(approval, { item: 'lamp' }, { id: 'approval-a' })
  await engine.trigger(greet, { name: 'Grace' }, { id: 'greet-a' })
  worker = await startWorker(store)
  await waitStatus(engine, 'nap-a', 'sleeping')
  await waitStatus(engine, 'nap-b', 'sleeping')
  await waitStatus(engine, 'approval-a', 'waiting')
  await waitStatus(engine, 'greet-a', 'completed')
}, 90_000)

afterAll(async () => {
  await worker?.stop()
  await sqlite?.close?.()
  await cleanup()
})

describe('replay-check', () => {
  it('exits 0 when every unfinished run replays on the deployed code', async () => {
    const r = await cli(['replay-check', '--workflows', './v1.js', '--store', store])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('replay-check: all 3 unfinished runs replay on v1.js (5 workflow definitions)\n')
  })

  it('exits 1 naming each run that would not replay, with the step the code reached and the step the journal has', async () => {
    const r = await cli(['replay-check', '--workflows', './v2-renamed-step.js', '--store', store])
    expect(r.code).toBe(1)
    for (const runId of ['nap-a', 'nap-b']) {
      expect(r.stdout).toContain(`FAIL  ${runId}  nap@1\n`)
    }
    expect(r.stdout).toMatch(/^ {6}code step +prepare-nap#1$/m)
    expect(r.stdout).toMatch(/^ {6}journal step +before-nap#1$/m)
    expect(r.stdout).not.toContain('approval-a')
    expect(r.stdout.trim().split('\n').at(-1)).toBe(
      'replay-check: 2 of 3 unfinished runs would not replay on v2-renamed-step.js (5 workflow definitions)',
    )
    // Nothing was run or written: the runs still sleep, on the same step.
    for (const runId of ['nap-a', 'nap-b']) {
      const run = await engine.getRun(runId)
      expect(run.status).toBe('sleeping')
      expect(run.steps.map((s) => s.id)).toEqual(['before-nap#1', 'sleep#1'])
    }
  })

  it('--json prints the report: the failures with both step ids, ok false', async () => {
    const r = await cli(['replay-check', '--workflows', './v2-renamed-step.js', '--store', store, '--json'])
    expect(r.code).toBe(1)
    const report = json(r)
    expect(report).toMatchObject({ checked: 3, ok: false })
    expect(report.definitions).toEqual(['greet@1', 'approval@1', 'nap@1', 'charge@1', 'block@1'])
    expect(report.failures.map((f: { runId: string }) => f.runId).sort()).toEqual(['nap-a', 'nap-b'])
    expect(report.failures[0]).toMatchObject({ workflowId: 'nap', version: '1', stepId: 'prepare-nap#1', journalStepId: 'before-nap#1' })
  })

  it('a run whose workflow the module no longer exports fails the check, and --limit bounds the runs checked', async () => {
    const r = await cli(['replay-check', '--workflows', './only-greet.mjs', '--store', store, '--json'])
    expect(r.code).toBe(1)
    const report = json(r)
    expect(report.checked).toBe(3)
    expect(report.failures.map((f: { message: string }) => f.message).sort()).toEqual([
      'no code for workflow "approval" version "1"',
      'no code for workflow "nap" version "1"',
      'no code for workflow "nap" version "1"',
    ])
    const one = json(await cli(['replay-check', '--workflows', './v1.js', '--limit', '1', '--store', store, '--json']))
    expect(one).toMatchObject({ checked: 1, failures: [], ok: true })
  })

  it('several --workflows modules are checked together; a CommonJS module is loaded too', async () => {
    const r = await cli(['replay-check', '--workflows', './v1.js', '--workflows', './shapes.cjs', '--store', store, '--json'])
    expect(r.code).toBe(0)
    // An ES module's named exports come in name order; the CommonJS object's in its own order.
    expect(json(r).definitions).toEqual(['approval@1', 'block@1', 'charge@1', 'greet@1', 'nap@1', 'cjs-a@1', 'cjs-b@1'])
  })
})
