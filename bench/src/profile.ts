// `pnpm --filter @do-sdk/bench profile [subjects…]`: runs the throughput case of each subject
// (default: do-memory and do-sqlite) under `node --cpu-prof`, then prints the top 15 functions and
// the top files by self time. The .cpuprofile files stay in a temp dir (open them in Chrome DevTools).
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CaseConfig, CaseResult } from './case.js'
import { BENCH_DIR, runChild } from './child.js'
import { summarize } from './cpuprofile.js'
import { int, sig, table } from './format.js'
import { startBenchRedis } from './redis-server.js'
import { ROWS } from './rows.js'

const subjects = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const chosen = subjects.length ? subjects : ['do-memory', 'do-sqlite']
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 15)
const root = join(BENCH_DIR, '..')

const main = async () => {
  const needsRedis = ROWS.some((r) => chosen.includes(r.id) && r.redis)
  const redis = needsRedis ? await startBenchRedis() : undefined
  try {
    for (const subject of chosen) {
      const dir = mkdtempSync(join(tmpdir(), `do-sdk-profile-${subject}-`))
      const config: CaseConfig = {
        subject,
        redisUrl: redis?.url,
        seqRuns: 0,
        seqWarmup: 200,
        tputRuns: 2_000,
        concurrency: 50,
        reps: 5,
        parts: ['tput'],
      }
      const result = await runChild<CaseResult>('case.ts', config, {
        nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'],
      })
      const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) as string)
      const { totalMs, functions, files } = summarize(file, root, result.windowUs)
      console.log(`## ${subject}: throughput ${result.tput.map((t) => int(t)).join(', ')} workflows/s (profiled)`)
      console.log(`profile: ${file} (${sig(totalMs / 1000)} s of samples in the measured repetitions)`)
      console.log()
      console.log(
        table(
          ['self ms', 'self %', 'function (file:line)'],
          functions.slice(0, top).map((f) => [sig(f.selfMs), f.percent.toFixed(1), f.name]),
        ),
      )
      console.log()
      console.log(
        table(
          ['self ms', 'self %', 'file'],
          files.slice(0, top).map((f) => [sig(f.selfMs), f.percent.toFixed(1), f.name]),
        ),
      )
      console.log()
    }
  } finally {
    await redis?.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
