// Runs `pnpm bench` in smoke mode (tiny sizes) as a child process, so the benchmark keeps working.
// No timing is asserted: timing targets belong to the benchmark's report, never to a test.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { HOOK_VARIANTS } from '../src/hooks-def.js'
import { ROWS } from '../src/rows.js'
import { rowOf, runBenchScript } from './bench-child.js'

const out = mkdtempSync(join(tmpdir(), 'do-sdk-bench-smoke-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

const runSmoke = () => runBenchScript('main.ts', ['--smoke', `--json=${join(out, 'results.json')}`])

describe('pnpm bench --smoke', () => {
  let result: Awaited<ReturnType<typeof runSmoke>>

  it('exits 0', async () => {
    result = await runSmoke()
    expect(result.code, result.stderr).toBe(0)
  }, 300_000)

  it('prints a measured row for every system, baseline and peer', () => {
    for (const row of ROWS) {
      const cells = rowOf(result.stdout, row.label)
      expect(cells, `row "${row.label}"`).toBeDefined()
      expect(cells?.[2], `sequential latency of "${row.label}"`).toMatch(/^\d/)
      expect(cells?.[3], `throughput of "${row.label}"`).toMatch(/^\d/)
    }
  })

  it('prints the hooks, scale and resume rows and the targets', () => {
    for (const variant of HOOK_VARIANTS) expect(rowOf(result.stdout, variant), `hooks row "${variant}"`).toBeDefined()
    const lines = result.stdout.split('\n')
    for (const store of ['sqlite', 'redis']) {
      expect(lines.filter((l) => l.startsWith(`| ${store} `)).length, `scale + resume rows of ${store}`).toBe(2 + 2)
    }
    expect(result.stdout).toContain('## Targets: issue 8, round 3 (issue 18) and no worse than round 2')
    const targets = ['1. memory', '2. SQLite', '3. Redis', '4. sqlite', '4. redis', '5. hooks']
    targets.push('round 3: memory, client CPU', 'round 3: memory, sequential latency ≤ TanStack', 'round 3: SQLite', 'round 3: Redis')
    targets.push('no worse than round 2: memory', 'no worse than round 2: SQLite', 'no worse than round 2: Redis')
    for (const target of targets) {
      expect(result.stdout, `target rows "${target}"`).toContain(`| ${target}`)
    }
  })

  it('prints the run-list, flow-control and schedule rows of every store', () => {
    for (const section of ['## Run list', '## Flow control', '## Schedules']) expect(result.stdout, section).toContain(section)
    const lines = result.stdout.split('\n')
    // Run list: the listRuns table and the countRuns table; flow: the concurrency-key table and the schedules table.
    expect(lines.filter((l) => l.startsWith('| SQLite ')).length, 'rows of SQLite').toBe(4)
    expect(lines.filter((l) => l.startsWith('| Redis ')).length, 'rows of Redis').toBe(4)
    expect(lines.filter((l) => l.startsWith('| memory ')).length, 'concurrency-key row of memory').toBe(1)
    expect(result.stdout).not.toMatch(/^(list|flow): error/m)
  })

  it('writes the results as JSON', () => {
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cases: Record<string, unknown> }
    expect(Object.keys(json.cases).sort()).toEqual(ROWS.map((r) => r.id).sort())
  })
})
