// The targets checked on the main table of one run: issue 8's, issue 18's (performance round 3)
// and "no worse than round 2" (issue 13: the rebuilt engine must not lose what round 2 won; the
// ratios of the round-2 table in docs/benchmarks.md, commit c44ddd2).
import { sig, times } from './format.js'
import { SHORT } from './rows.js'
import type { Verdict } from './scale.js'

/** What the targets read from the main table: medians of one run, NaN when a subject did not run. */
export interface MainFigures {
  seq(id: string): number
  tput(id: string): number
  /** Client CPU µs per workflow, sequential or at c=50. */
  cpu(id: string, part: 'seq' | 'tput'): number
  ran(id: string): boolean
}

/** do-sdk memoryStore's client CPU per workflow when issue 18 was filed (0.17 ms); the target is half. */
export const ROUND2_MEMORY_CPU_US = 170

export const mainVerdicts = (f: MainFigures): Verdict[] => {
  const verdicts: Verdict[] = []
  const ratio = (target: string, a: string, b: string, kind: 'seq' | 'tput', limit: number) => {
    if (!f.ran(a) || !f.ran(b)) return
    const r = kind === 'seq' ? f.seq(a) / f.seq(b) : f.tput(a) / f.tput(b)
    const met = Number.isFinite(r) ? (kind === 'seq' ? r <= limit : r >= limit) : undefined
    verdicts.push({ target, measured: `${times(r)} (${SHORT[a]} / ${SHORT[b]})`, met })
  }
  const cpu = (part: 'seq' | 'tput', label: string) => {
    if (!f.ran('do-memory')) return
    const us = f.cpu('do-memory', part)
    const limit = ROUND2_MEMORY_CPU_US / 2
    verdicts.push({
      target: `round 3: memory, client CPU per workflow ${label} ≤ ½ of ${ROUND2_MEMORY_CPU_US} µs`,
      measured: `${sig(us)} µs (${times(us / ROUND2_MEMORY_CPU_US)})`,
      met: Number.isFinite(us) ? us <= limit : undefined,
    })
  }
  ratio('1. memory: sequential latency within 20× of plain calls', 'do-memory', 'plain', 'seq', 20)
  ratio('1. memory: throughput at least 1/4 of plain calls', 'do-memory', 'plain', 'tput', 0.25)
  ratio('2. SQLite: sequential latency within 2× of raw 3 INSERTs', 'do-sqlite', 'raw-sqlite', 'seq', 2)
  ratio('2. SQLite: throughput at least 1/2 of raw batched INSERTs', 'do-sqlite', 'raw-sqlite-batched', 'tput', 0.5)
  ratio('3. Redis: sequential latency within 1.5× of raw 3 SETs', 'do-redis', 'raw-redis', 'seq', 1.5)
  ratio('3. Redis: throughput at least 70% of raw pipelined SETs', 'do-redis', 'raw-redis-pipelined', 'tput', 0.7)
  ratio('3. Redis: throughput at least 5× BullMQ', 'do-redis', 'bullmq', 'tput', 5)
  cpu('seq', 'sequential')
  cpu('tput', 'at c=50')
  ratio('round 3: memory, sequential latency ≤ TanStack Workflow in-memory', 'do-memory', 'tanstack-memory', 'seq', 1)
  ratio('round 3: memory, throughput ≥ 1.5× TanStack Workflow in-memory', 'do-memory', 'tanstack-memory', 'tput', 1.5)
  ratio('round 3: SQLite, sequential latency ≤ 3× raw 3 INSERTs', 'do-sqlite', 'raw-sqlite', 'seq', 3)
  ratio('round 3: SQLite, throughput ≥ 0.25× raw batched INSERTs', 'do-sqlite', 'raw-sqlite-batched', 'tput', 0.25)
  ratio('round 3: Redis, sequential latency ≤ 1.5× raw 3 SETs', 'do-redis', 'raw-redis', 'seq', 1.5)
  ratio('round 3: Redis, throughput ≥ 0.5× raw pipelined SETs', 'do-redis', 'raw-redis-pipelined', 'tput', 0.5)
  ratio('round 3: Redis, throughput ≥ 3× BullMQ', 'do-redis', 'bullmq', 'tput', 3)
  ratio('no worse than round 2: memory latency ≤ 523× plain calls', 'do-memory', 'plain', 'seq', 523)
  ratio('no worse than round 2: SQLite latency ≤ 3.86× raw', 'do-sqlite', 'raw-sqlite', 'seq', 3.86)
  ratio('no worse than round 2: SQLite throughput ≥ 0.079× raw batched', 'do-sqlite', 'raw-sqlite-batched', 'tput', 0.079)
  ratio('no worse than round 2: Redis latency ≤ 3.22× raw', 'do-redis', 'raw-redis', 'seq', 3.22)
  ratio('no worse than round 2: Redis throughput ≥ 1.83× BullMQ', 'do-redis', 'bullmq', 'tput', 1.83)
  return verdicts
}
