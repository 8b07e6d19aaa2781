// One subject in a process of its own: warm-up, then the sequential and throughput measurements,
// each repeated. Prints one line `RESULT {json}`. Run by main.ts (and by profile.ts under --cpu-prof).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { warmTputRuns } from './case-runs.js'
import { runAsChild } from './child.js'
import { sequentialMs, throughput } from './measure.js'
import { SUBJECTS } from './subjects/index.js'

export interface CaseConfig {
  subject: string
  redisUrl?: string
  /** Measured sequential runs per repetition. */
  seqRuns: number
  seqWarmup: number
  /** Workflows per throughput batch (2,000 in the workload). */
  tputRuns: number
  /**
   * Batches of `tputRuns` back to back in one repetition (default 1). The raw baselines finish 2,000
   * workflows in a few ms, too short to time well; several batches give the same rate, less noise.
   */
  tputBatches?: number
  concurrency: number
  reps: number
  parts: ('seq' | 'tput')[]
}

export interface CaseResult {
  subject: string
  /** ms per workflow, one value per repetition. */
  seq: number[]
  /** workflows per second, one value per repetition. */
  tput: number[]
  /**
   * Client CPU per workflow in µs, one value per repetition: `process.cpuUsage()` of this process
   * (user + system, every thread: JIT, GC, libuv pool) over the sequential runs, divided by them.
   */
  seqCpuUs: number[]
  /** The same over the throughput batches of a repetition, divided by the workflows they ran. */
  tputCpuUs: number[]
  /** The measured repetitions (after warm-up), in µs of the monotonic clock V8's profiler uses too. */
  windowUs: [number, number]
}

const main = async () => {
  const config = JSON.parse(process.argv[2] as string) as CaseConfig
  const factory = SUBJECTS[config.subject]
  if (!factory) throw new Error(`unknown subject "${config.subject}"`)
  const dir = mkdtempSync(join(tmpdir(), `do-sdk-bench-${config.subject}-`))
  const subject = await factory({ dir, redisUrl: config.redisUrl })
  const result: CaseResult = { subject: config.subject, seq: [], tput: [], seqCpuUs: [], tputCpuUs: [], windowUs: [0, 0] }
  const nowUs = () => Number(process.hrtime.bigint() / 1000n)
  /** µs of CPU (user + system) since `from`, per workflow of `n`. */
  const cpuPer = (from: NodeJS.CpuUsage, n: number) => {
    const used = process.cpuUsage(from)
    return (used.user + used.system) / n
  }
  let offset = 0
  const run = (i: number) => subject.run(i)
  try {
    // Warm-up: both shapes, so the JIT and the store's caches are warm for whichever comes first.
    await sequentialMs(run, config.seqWarmup, offset)
    offset += config.seqWarmup
    const warmTput = warmTputRuns(config)
    if (config.parts.includes('tput')) await throughput(run, warmTput, config.concurrency, offset)
    offset += warmTput
    result.windowUs[0] = nowUs()
    for (let r = 0; r < config.reps; r++) {
      if (config.parts.includes('seq')) {
        const cpu0 = process.cpuUsage()
        result.seq.push(await sequentialMs(run, config.seqRuns, offset))
        result.seqCpuUs.push(cpuPer(cpu0, config.seqRuns))
        offset += config.seqRuns
      }
      if (config.parts.includes('tput')) {
        const batches = config.tputBatches ?? 1
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        for (let b = 0; b < batches; b++) {
          await throughput(run, config.tputRuns, config.concurrency, offset)
          offset += config.tputRuns
        }
        result.tput.push((config.tputRuns * batches) / ((performance.now() - t0) / 1000))
        result.tputCpuUs.push(cpuPer(cpu0, config.tputRuns * batches))
      }
    }
    result.windowUs[1] = nowUs()
  } finally {
    await subject.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return result
}

void runAsChild(main)
