import { z } from 'zod'
import { action } from '../src/action.js'
import type { VirtualClock } from '../src/engine/clock.js'
import { CancelledError, NonRetryableError } from '../src/errors.js'
import { workflow } from '../src/workflow.js'

/**
 * Watches every attempt of every step while the simulation runs: an attempt of a step that is
 * already in flight (anywhere), an attempt of a step whose result was committed, or an attempt
 * whose idempotency key is not `runId:stepId`, is a violation.
 */
export class Ledger {
  private readonly inFlight = new Map<string, number>()
  readonly violations: string[] = []
  attempts = 0

  constructor(private readonly committed: Set<string>) {}

  start(idempotencyKey: string, runId: string | undefined, stepId: string | undefined): () => void {
    this.attempts++
    const at = idempotencyKey.lastIndexOf(':')
    const [run, step] = [idempotencyKey.slice(0, at), idempotencyKey.slice(at + 1)]
    if ((runId !== undefined && runId !== run) || (stepId !== undefined && stepId !== step))
      this.violations.push(`idempotency key "${idempotencyKey}" is not ${runId}:${stepId}`)
    if (this.committed.has(`${run} ${step}`))
      this.violations.push(`step "${step}" of run "${run}" ran again after its result was committed`)
    const n = this.inFlight.get(idempotencyKey) ?? 0
    if (n > 0) this.violations.push(`step "${step}" of run "${run}" started while another attempt of it was in flight`)
    this.inFlight.set(idempotencyKey, n + 1)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.inFlight.set(idempotencyKey, (this.inFlight.get(idempotencyKey) ?? 1) - 1)
    }
  }
}

/** What the simulated steps need: the clock their work takes time on, the ledger, and the world's "the bug is fixed" switch. */
export interface SimEnv {
  clock: VirtualClock
  ledger: Ledger
  fixed: boolean
}

/** Work that takes `ms` of simulated time and stops when aborted (a killed process's work stops with it). */
const work = (env: SimEnv, ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const cancel = env.clock.setTimer(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      cancel()
      reject(signal.reason ?? new CancelledError('aborted'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })

/** The simulation's workflows. Their outputs depend only on their input and the signals they get, never on timing. */
export const simWorkflows = (env: SimEnv) => {
  const fetch = action.create({
    id: 'fetch',
    description: 'Fetches an item (fails its first attempts when told to).',
    input: z.object({ item: z.number(), flaky: z.number(), ms: z.number() }),
    retry: { retries: 4, minTimeout: 10, factor: 2 },
    execute: async ({ item, flaky, ms }, { signal, idempotencyKey, runId, stepId, attempt }) => {
      const end = env.ledger.start(idempotencyKey, runId, stepId)
      try {
        await work(env, ms, signal)
        if (attempt <= flaky) throw new Error(`item ${item}: flaky attempt ${attempt}`)
        return item * 10
      } finally {
        end()
      }
    },
  })
  const fixable = action.create({
    id: 'fixable',
    description: 'Fails for good until the bug is fixed.',
    retry: false,
    execute: async (_input: unknown, { signal, idempotencyKey, runId, stepId }) => {
      const end = env.ledger.start(idempotencyKey, runId, stepId)
      try {
        await work(env, 5, signal)
        if (!env.fixed) throw new NonRetryableError('not fixed yet')
        return 'fixed'
      } finally {
        end()
      }
    },
  })

  const fanout = workflow.create({
    id: 'fanout',
    input: z.object({ items: z.array(z.number()), ms: z.array(z.number()), flaky: z.array(z.number()), sleepMs: z.number() }),
    initialState: () => ({ total: 0 }),
    async run({ input, step, runId }) {
      const out = await Promise.all(
        input.items.map(async (item, i) => {
          const a = await step.run(fetch, { item, flaky: input.flaky[i] ?? 0, ms: input.ms[i] ?? 1 })
          return step.run('transform', async ({ idempotencyKey, signal }) => {
            const end = env.ledger.start(idempotencyKey, undefined, undefined)
            try {
              await work(env, 1, signal)
              return `${item}:${a}`
            } finally {
              end()
            }
          })
        }),
      )
      await step.setState({ total: out.length })
      await step.store.set(
        `sum-${runId}`,
        input.items.reduce((s, x) => s + x, 0),
      )
      await step.sleep(input.sleepMs)
      const sum = await step.store.get<number>(`sum-${runId}`)
      return { out, sum }
    },
  })

  const approvals = workflow.create({
    id: 'approvals',
    input: z.object({ rounds: z.number() }),
    async run({ input, step }) {
      const rounds: string[] = []
      for (let r = 0; r < input.rounds; r++) {
        rounds.push(
          await Promise.race([
            step.waitForEvent<{ n: number }>('approve').then((p) => `approve ${p?.n}`),
            step.waitForEvent<{ n: number }>('reject').then((p) => `reject ${p?.n}`),
          ]),
        )
      }
      const done = await step.waitForEvent<{ n: number }>('done')
      return { rounds, done: done?.n }
    },
  })

  const parent = workflow.create({
    id: 'parent',
    input: z.object({ items: z.array(z.number()) }),
    async run({ input, step }) {
      const child = await step.invoke(fanout, {
        items: input.items,
        ms: input.items.map(() => 3),
        flaky: input.items.map(() => 0),
        sleepMs: 50,
      })
      const tag = await step.run('tag', () => `parent of ${child.out.length}`)
      return { tag, child }
    },
  })

  const repair = workflow.create({
    id: 'repair',
    async run({ step }) {
      await step.setState({ stage: 'trying' })
      const got = await step.run(fixable, {})
      return got
    },
  })

  return { fetch, fixable, fanout, approvals, parent, repair, all: [fanout, approvals, parent, repair] }
}
