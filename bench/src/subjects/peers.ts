// The peers a user would pick instead, each doing the same 3-step workload with its own durability
// (or, for the in-memory rows, none).
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { Annotation, type BaseCheckpointSaver, END, MemorySaver, START, StateGraph } from '@langchain/langgraph'
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite'
import { createWorkflow } from '@tanstack/workflow-core'
import { defineWorkflowRuntime, inMemoryWorkflowExecutionStore } from '@tanstack/workflow-runtime'
import Database from 'better-sqlite3'
import { type Job, Queue, Worker } from 'bullmq'
import { needRedis, type Subject, type SubjectContext, s1, s2, s3 } from '../workload.js'

/**
 * BullMQ on the same Redis: one job per workflow, its data updated (`job.updateData`) after each
 * step so a retried job can skip finished steps; the result is taken from the worker's `completed`
 * event in this process. Worker concurrency 50 (the throughput test's concurrency).
 */
export const bullmq = async (ctx: SubjectContext): Promise<Subject> => {
  const url = new URL(needRedis(ctx))
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null }
  const name = `bench-${randomUUID().slice(0, 8)}`
  const queue = new Queue(name, { connection })
  const waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
  const worker = new Worker(
    name,
    async (job: Job) => {
      let data = job.data as Record<string, unknown>
      const a = (data.a as object | undefined) ?? s1()
      data = { ...data, a }
      await job.updateData(data)
      const b = (data.b as object | undefined) ?? s2()
      data = { ...data, b }
      await job.updateData(data)
      const c = (data.c as object | undefined) ?? s3()
      data = { ...data, c }
      await job.updateData(data)
      return { a, b, c }
    },
    { connection, concurrency: 50 },
  )
  worker.on('completed', (job, result) => {
    waiting.get(job.id as string)?.resolve(result)
    waiting.delete(job.id as string)
  })
  worker.on('failed', (job, error) => {
    if (!job) return
    waiting.get(job.id as string)?.reject(error)
    waiting.delete(job.id as string)
  })
  await worker.waitUntilReady()
  let seq = 0
  return {
    run: (i) => {
      const jobId = `j${++seq}`
      const done = new Promise((resolve, reject) => waiting.set(jobId, { resolve, reject }))
      return queue.add('three-steps', { i }, { jobId }).then(() => done)
    },
    close: async () => {
      await worker.close()
      await queue.close()
    },
  }
}

const State = Annotation.Root({
  i: Annotation<number>,
  a: Annotation<{ i: number }>,
  b: Annotation<{ i: number }>,
  c: Annotation<{ i: number }>,
})

const onGraph = (checkpointer: BaseCheckpointSaver, close: () => void): Subject => {
  const graph = new StateGraph(State)
    .addNode('s1', () => ({ a: s1() }))
    .addNode('s2', () => ({ b: s2() }))
    .addNode('s3', () => ({ c: s3() }))
    .addEdge(START, 's1')
    .addEdge('s1', 's2')
    .addEdge('s2', 's3')
    .addEdge('s3', END)
    .compile({ checkpointer })
  return {
    // durability 'sync': a step's checkpoint is written before the next step starts, as do-sdk does.
    run: (i) => graph.invoke({ i }, { configurable: { thread_id: randomUUID() }, durability: 'sync' }),
    close: async () => close(),
  }
}

/** LangGraph.js with its SQLite checkpointer, on a better-sqlite3 file in WAL mode, synchronous=NORMAL. */
export const langgraphSqlite = async (ctx: SubjectContext): Promise<Subject> => {
  const db = new Database(join(ctx.dir, 'langgraph.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  return onGraph(new SqliteSaver(db), () => db.close())
}

/** LangGraph.js with its in-memory checkpointer (not durable). */
export const langgraphMemory = async (): Promise<Subject> => onGraph(new MemorySaver(), () => {})

/** The workload as a TanStack workflow (the in-memory and the PostgreSQL rows share it). */
export const tanstackThreeSteps = () =>
  createWorkflow({ id: 'three-steps' }).handler(async (ctx) => {
    const a = await ctx.step('s1', async () => s1())
    const b = await ctx.step('s2', async () => s2())
    const c = await ctx.step('s3', async () => s3())
    return { a, b, c }
  })

/**
 * TanStack Workflow (core 0.0.3, runtime 0.0.2) with its in-memory store (not durable):
 * `runtime.startRun` creates the run, claims its lease and runs the workflow to its end, each
 * `ctx.step` appended to the run's event log before the next. `includeEvents: false`, as the caller
 * only wants the output (the default also returns every event of the run); each run gets its own
 * lease owner, as in the PostgreSQL row (subjects/postgres.ts).
 */
export const tanstackMemory = async (): Promise<Subject> => {
  const workflow = tanstackThreeSteps()
  const runtime = defineWorkflowRuntime({
    workflows: { 'three-steps': { load: async () => workflow } },
    store: inMemoryWorkflowExecutionStore(),
  })
  let seq = 0
  return {
    run: async (i) => {
      const id = `run-${++seq}`
      const result = await runtime.startRun({
        workflowId: 'three-steps',
        runId: id,
        input: { i },
        leaseOwner: `owner-${id}`,
        includeEvents: false,
      })
      if (result.kind !== 'completed') throw new Error(`TanStack run ${id} ended as ${result.kind}`)
      return result.run?.output
    },
    close: async () => {},
  }
}
