// `pnpm test`: system packages, build, typecheck, lint, every vitest test, then the packed-tarball
// check (scripts/pack-check.mjs) on the build. Ends with one line "N passed, N failed", summed from
// vitest's JSON report, the pack check counting as one test.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  return r.status ?? 1
}
const step = (name, cmd, args) => {
  console.log(`\n[test] ${name}`)
  const status = run(cmd, args)
  if (status !== 0) {
    console.error(`[test] ${name} failed (exit ${status})`)
    console.log('0 passed, 1 failed')
    process.exit(status)
  }
}

step('system packages', 'node', ['scripts/system-deps.mjs'])
step('build', 'pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'])
step('typecheck', 'pnpm', ['exec', 'turbo', 'run', 'typecheck', '--output-logs=errors-only'])
step('lint', 'pnpm', ['exec', 'biome', 'check', '.'])
step('publint', 'pnpm', ['exec', 'turbo', 'run', 'publint', '--output-logs=errors-only'])

const out = '.test-results/vitest.json'
mkdirSync('.test-results', { recursive: true })
rmSync(out, { force: true })
console.log('\n[test] vitest')
const status = run('pnpm', [
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
])

let passed = 0
let failed = 0
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, 'utf8'))
  passed = report.numPassedTests ?? 0
  // Failed tests, plus test files that failed without a failed test (an import or setup error).
  const brokenFiles = (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
  ).length
  failed = (report.numFailedTests ?? 0) + brokenFiles
} else {
  failed = 1
}
if (status !== 0 && failed === 0) failed = 1

// After vitest, so that a failure here (an npm install, a tarball) leaves the unit results readable.
// Skipped when vitest got a filter (`pnpm test packages/core`): a partial run, and the check takes minutes.
const filtered = process.argv.length > 2
if (filtered) {
  console.log('\n[test] pack-check skipped (vitest filter given); run it with `node scripts/pack-check.mjs`')
} else {
  console.log('\n[test] pack-check (packed tarballs in a fresh app)')
  if (run('node', ['scripts/pack-check.mjs', '--no-build']) === 0) passed++
  else failed++
}

// The deterministic simulation of the engine (packages/core/sim): 2,000 seeds, counted as one test.
if (!filtered) {
  console.log('\n[test] sim (2,000 seeds of the engine under faults; `pnpm sim --seed N --verbose` replays one)')
  if (run('node', ['--import', './packages/core/sim/register.mjs', 'packages/core/sim/run.ts', '--seeds', '2000']) === 0) passed++
  else failed++
}

console.log(`${passed} passed, ${failed} failed`)
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0)
