// The PostgreSQL subjects (src/postgres.ts runs them on a PostgreSQL it starts, durable settings):
// the raw speed of one INSERT per step, do-sdk's postgresStore, that store alone (no engine), and the
// two peers built on PostgreSQL: DBOS Transact and TanStack Workflow's Drizzle/Postgres store. Each
// gets a database of its own; the URL of the one to use comes in DO_SDK_BENCH_PG_URL (set by the
// parent per subject).
import { randomUUID } from 'node:crypto'
import { createEngine, silentLogger, type WriteOp } from '@do-sdk/core'
import { postgresStore } from '@do-sdk/store-postgres'
import pg from 'pg'
import { recordWorkflow, uuidOf } from '../record-workflow.js'
import { type Subject, s1, s2, s3, threeSteps } from '../workload.js'
import { tanstackThreeSteps } from './peers.js'

/** Connections per pool, for every subject alike. */
export const POOL_SIZE = 10

export const pgUrl = (): string => {
  const url = process.env.DO_SDK_BENCH_PG_URL
  if (!url) throw new Error('this subject needs PostgreSQL (run it through src/postgres.ts, which starts one)')
  return url
}

let runSeq = 0
/** Run ids of this process: several processes (one per repetition) write to one table. */
const RUN_PREFIX = `r${Math.random().toString(36).slice(2, 8)}.`

/** One INSERT per step on a pool, each its own (autocommit) transaction, awaited before the next step runs. */
export const rawPg = async (): Promise<Subject> => {
  const pool = new pg.Pool({ connectionString: pgUrl(), max: POOL_SIZE })
  await pool.query('CREATE TABLE IF NOT EXISTS steps (run text NOT NULL, step int NOT NULL, value text NOT NULL, PRIMARY KEY (run, step))')
  const insert = (run: string, step: number, value: unknown) =>
    pool.query('INSERT INTO steps (run, step, value) VALUES ($1, $2, $3)', [run, step, JSON.stringify(value)])
  return {
    run: async () => {
      const run = `${RUN_PREFIX}${++runSeq}`
      const a = s1()
      await insert(run, 1, a)
      const b = s2()
      await insert(run, 2, b)
      const c = s3()
      await insert(run, 3, c)
      return { a, b, c }
    },
    close: () => pool.end(),
  }
}

/** do-sdk on postgresStore with its defaults (group commit, named statements: `preparedStatements: 'auto'`), one engine. */
export const doPostgres = async (): Promise<Subject> => {
  const store = postgresStore({ connectionString: pgUrl(), poolSize: POOL_SIZE }, { namespace: 'bench' })
  const engine = createEngine({ store, workflows: [threeSteps], logger: silentLogger, concurrency: 100 })
  await engine.start()
  return {
    run: async (i) => (await engine.trigger(threeSteps, { i })).result(),
    close: async () => {
      await engine.stop()
      await store.close?.()
    },
  }
}

/**
 * postgresStore alone, no engine: the 4 batches one workflow of the workload writes (recorded once on
 * a memory store), sent through the store's `batch` one after the other with the run's uuid replaced
 * by a fresh one. What do-sdk's latency would be if the engine cost nothing; a batch whose conditions
 * fail throws, so a replay cannot pass for a fast one.
 */
export const storePg = async (): Promise<Subject> => {
  const { runId, batches } = await recordWorkflow()
  const uuid = uuidOf(runId)
  const store = postgresStore({ connectionString: pgUrl(), poolSize: POOL_SIZE }, { namespace: 'bench' })
  // Keys and values cut at the uuid once, so a run only joins the parts around its own id.
  const cut = batches.map((ops) =>
    ops.map((op) => ({ op, key: op.key.split(uuid), value: op.op === 'set' ? op.value.split(uuid) : undefined })),
  )
  const withId = (ops: (typeof cut)[number], id: string): WriteOp[] =>
    ops.map(({ op, key, value }) => ({ ...op, key: key.join(id), ...(value ? { value: value.join(id) } : {}) }) as WriteOp)
  return {
    run: async () => {
      const id = randomUUID()
      for (const ops of cut) {
        const result = await store.batch(withId(ops, id))
        if (!result.ok) throw new Error(`a replayed batch of run ${id} failed its condition on ${result.conflictKey}`)
      }
      return id
    },
    close: async () => {
      await store.close?.()
    },
  }
}

/**
 * DBOS Transact: a registered workflow of three `DBOS.runStep` calls, called directly (it runs in
 * this process and checkpoints each step to its system database before the next one).
 */
export const dbos = async (): Promise<Subject> => {
  const { DBOS } = await import('@dbos-inc/dbos-sdk')
  DBOS.setConfig({
    name: 'do-sdk-bench',
    systemDatabaseUrl: pgUrl(),
    systemDatabasePoolSize: POOL_SIZE,
    runAdminServer: false,
    logLevel: 'error',
  })
  const wf = DBOS.registerWorkflow(
    async (_i: number) => {
      const a = await DBOS.runStep(async () => s1(), { name: 's1' })
      const b = await DBOS.runStep(async () => s2(), { name: 's2' })
      const c = await DBOS.runStep(async () => s3(), { name: 's3' })
      return { a, b, c }
    },
    { name: 'three-steps' },
  )
  await DBOS.launch()
  return { run: (i) => wf(i), close: () => DBOS.shutdown() }
}

/**
 * TanStack Workflow (core 0.0.3, runtime 0.0.2, store-drizzle-postgres 0.0.5): `runtime.startRun`
 * runs the workflow to its end, each `ctx.step` appended to the store's event log before the next.
 * Each run gets its own lease owner (the default one lets concurrent starts of one run all proceed).
 */
export const tanstack = async (): Promise<Subject> => {
  const { defineWorkflowRuntime } = await import('@tanstack/workflow-runtime')
  const { createDrizzlePostgresWorkflowStore } = await import('@tanstack/workflow-store-drizzle-postgres')
  const { drizzle } = await import('drizzle-orm/node-postgres')
  const pool = new pg.Pool({ connectionString: pgUrl(), max: POOL_SIZE })
  const store = createDrizzlePostgresWorkflowStore({ db: drizzle(pool) })
  await store.ensureSchema()
  const workflow = tanstackThreeSteps()
  const runtime = defineWorkflowRuntime({
    workflows: { 'three-steps': { load: async () => workflow } },
    store,
  })
  return {
    run: async (i) => {
      const id = `run-${RUN_PREFIX}${++runSeq}`
      const result = await runtime.startRun({ workflowId: 'three-steps', runId: id, input: { i }, leaseOwner: `owner-${id}` })
      if (result.kind !== 'completed') throw new Error(`TanStack run ${id} ended as ${result.kind}`)
      return result.run?.output
    },
    close: () => pool.end(),
  }
}
