// How many workflows a case (case.ts) runs: its warm-up and its repetitions. Apart from case.ts,
// which runs itself when imported, so the parents that count commits per workflow can import it.
import type { CaseConfig } from './case.js'

/** Workflows of the throughput warm-up: 4 per worker, or a quarter of a batch, at most one batch. */
export const warmTputRuns = (c: CaseConfig) => Math.min(c.tputRuns, Math.max(c.concurrency * 4, Math.floor(c.tputRuns / 4)))

/** Workflows a case runs in all, warm-up included. */
export const workflowsRun = (c: CaseConfig) => c.seqWarmup + warmTputRuns(c) + c.reps * (c.seqRuns + c.tputRuns * (c.tputBatches ?? 1))
