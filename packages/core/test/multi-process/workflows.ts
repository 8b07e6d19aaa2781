// The workflows the multi-process tests run, shared by the worker processes (worker.ts) and by the
// test process, which only triggers runs (an engine that is not started only writes them).
import { appendFileSync } from 'node:fs'
import { z } from 'zod'
import { action, workflow } from '../../src/index.js'

/** One line of a worker's log file. */
export type LogLine =
  | {
      type: 'step'
      phase: 'start' | 'end'
      runId: string
      stepId: string
      /** The action's idempotency key (`runId:stepId`). */
      key: string
      attempt: number
      pid: number
      /** Unix ms, with sub-ms precision. */
      t: number
    }
  | { type: 'error'; source: string; message: string; runId?: string; pid: number; t: number }
  | { type: 'run'; event: 'start' | 'resume' | 'complete'; runId: string; pid: number; t: number }
  | { type: 'trigger'; admitted: boolean; pid: number; t: number }

/** Wall-clock time with sub-millisecond precision (one clock for every process of the machine). */
export const preciseNow = () => performance.timeOrigin + performance.now()

export interface WorkerBehaviour {
  /** File the worker appends its JSON lines to (`/dev/null` for the producer). */
  logFile: string
  /** A step id (e.g. `work#2`) whose action logs its start, then never returns: the test kills the process there. */
  blockStep?: string
}

/**
 * `mp-steps`: `steps` action steps in a row, each logging its start and end around `stepMs` of
 * waiting. `mp-signal`: waits for the event `go`, then runs one short step.
 */
export const makeWorkflows = ({ logFile, blockStep }: WorkerBehaviour) => {
  const log = (line: LogLine) => appendFileSync(logFile, `${JSON.stringify(line)}\n`)
  const work = action.create({
    id: 'work',
    description: 'Logs its start, waits, logs its end.',
    input: z.object({ ms: z.number().int().min(0) }),
    execute: async ({ ms }, { runId, stepId, idempotencyKey, attempt }) => {
      const at = { runId: runId as string, stepId: stepId as string, key: idempotencyKey, attempt, pid: process.pid }
      log({ type: 'step', phase: 'start', ...at, t: preciseNow() })
      if (stepId === blockStep) await new Promise<never>(() => {})
      await new Promise((resolve) => setTimeout(resolve, ms))
      log({ type: 'step', phase: 'end', ...at, t: preciseNow() })
      return { pid: process.pid }
    },
  })
  const steps = workflow.create({
    id: 'mp-steps',
    input: z.object({ steps: z.number().int().min(1), stepMs: z.number().int().min(0) }),
    async run({ input, step }) {
      const pids: number[] = []
      for (let i = 0; i < input.steps; i++) pids.push((await step.run(work, { ms: input.stepMs })).pid)
      return { pids }
    },
  })
  const signalled = workflow.create({
    id: 'mp-signal',
    async run({ step }) {
      const payload = await step.waitForEvent<{ sentAt: number }>('go')
      await step.run(work, { ms: 1 })
      return payload
    },
  })
  // Flow control across processes: one run of a key at a time; a rate limit; a schedule's target.
  const keyed = workflow.create({
    id: 'mp-keyed',
    input: z.object({ key: z.string(), steps: z.number().int().min(1), stepMs: z.number().int().min(0) }),
    concurrency: { key: (input) => input.key, limit: 1 },
    async run({ input, step }) {
      for (let i = 0; i < input.steps; i++) await step.run(work, { ms: input.stepMs })
      return input.key
    },
  })
  const limited = workflow.create({
    id: 'mp-limited',
    input: z.object({ n: z.number() }),
    rateLimit: { limit: 5, period: '2s' },
    async run({ step }) {
      await step.run(work, { ms: 1 })
    },
  })
  const ticked = workflow.create({
    id: 'mp-ticked',
    async run({ step }) {
      await step.run(work, { ms: 50 })
    },
  })
  return { work, steps, signalled, keyed, limited, ticked, log }
}
