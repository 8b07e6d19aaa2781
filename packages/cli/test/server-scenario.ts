// The CLI against a store on a server (Redis, PostgreSQL): the test's engine triggers runs in a
// namespace, a worker process executes them, and the CLI reads and changes them there.
import type { Datastore, Engine } from '@do-sdk/core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cleanup, cli, client, json, nextMs, startWorker, type Worker, waitStatus } from './helpers.js'

export interface ServerStore {
  /** The `--store` URL. */
  url: string
  /** `--namespace` and the like, for the CLI and the worker. */
  flags: { namespace: string; schema?: string }
  /** The app's store in the test process (created and migrated as an app's would be). */
  open(): Datastore
  stop(): Promise<void>
}

/** Registers the scenario's tests; `start` runs in beforeAll. Returns the started server, for more tests. */
export const serverScenario = (start: () => Promise<ServerStore>): (() => ServerStore) => {
  let server: ServerStore
  let store: Datastore
  let engine: Engine
  let worker: Worker
  const args = () => ['--store', server.url, ...Object.entries(server.flags).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, v]))]

  beforeAll(async () => {
    server = await start()
    store = server.open()
    engine = client(store)
    const { approval, greet, nap } = await import('./fixtures/v1.js')
    await engine.trigger(greet, { name: 'Linus' }, { id: 'greet-s' })
    await nextMs()
    await engine.trigger(approval, { item: 'desk' }, { id: 'approval-s' })
    await nextMs()
    await engine.trigger(nap, {}, { id: 'nap-s' })
    worker = await startWorker(server.url, server.flags)
    await waitStatus(engine, 'greet-s', 'completed')
    await waitStatus(engine, 'approval-s', 'waiting')
    await waitStatus(engine, 'nap-s', 'sleeping')
  }, 120_000)

  afterAll(async () => {
    await worker?.stop()
    await store?.close?.()
    await server?.stop()
    await cleanup()
  })

  it('runs list and runs count read the runs of the namespace', async () => {
    const list = await cli(['runs', 'list', ...args()])
    expect(list.code).toBe(0)
    expect(
      list.stdout
        .trim()
        .split('\n')
        .slice(1, 4)
        .map((l) => l.split(/\s+/).slice(0, 3)),
    ).toEqual([
      ['nap-s', 'nap@1', 'sleeping'],
      ['approval-s', 'approval@1', 'waiting'],
      ['greet-s', 'greet@1', 'completed'],
    ])
    expect(json(await cli(['runs', 'count', '--status', 'waiting,sleeping', '--json', ...args()]))).toEqual({ count: 2 })
  })

  it('another namespace holds none of them', async () => {
    const r = await cli(['runs', 'list', ...args(), '--namespace', 'someone-else'])
    expect(r).toMatchObject({ code: 0, stdout: 'No runs match.\n' })
  })

  it('runs show prints the steps of a run', async () => {
    const r = await cli(['runs', 'show', 'greet-s', ...args()])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Output\s+\{"message":"hello Linus"\}$/m)
    expect(r.stdout).toMatch(/^1\s+hello#1\s+fn\s+completed\s+\S+\s+\S+\s+2\s+= "hello Linus"$/m)
    expect(json(await cli(['runs', 'show', 'nap-s', '--json', ...args()])).steps.map((s: { id: string }) => s.id)).toEqual([
      'before-nap#1',
      'sleep#1',
    ])
  })

  it('runs signal wakes a waiting run, which the worker completes', async () => {
    const r = await cli(['runs', 'signal', 'approval-s', 'approved', '--payload', '{"by":"cli"}', ...args()])
    expect(r).toMatchObject({ code: 0, stdout: 'Signal "approved" stored for run approval-s.\n' })
    expect((await waitStatus(engine, 'approval-s', 'completed')).output).toEqual({ item: 'desk', approvedBy: 'cli' })
  })

  it('runs cancel cancels a sleeping run', async () => {
    const r = await cli(['runs', 'cancel', 'nap-s', ...args(), '--json'])
    expect(json(r)).toEqual({ runId: 'nap-s', result: 'cancelled', status: 'cancelled' })
    expect((await engine.getRun('nap-s')).status).toBe('cancelled')
  })

  return () => server
}
