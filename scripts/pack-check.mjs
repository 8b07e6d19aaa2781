// Checks the packages as a user gets them: packs every publishable package with `pnpm pack`,
// installs the tarballs with npm into a fresh app OUTSIDE the workspace (a temp dir; nothing
// resolves to the sources there, unlike the workspace tests), and there:
//   (a) runs the getting-started code of docs/getting-started.md, read from the doc itself
//       (scripts/pack-check/getting-started.mjs), so the doc and the check cannot drift;
//   (b) an ESM and a CJS smoke, the CJS one under `node --no-experimental-require-module`;
//   (c) `tsc --noEmit` with moduleResolution node16 and bundler on a file importing every entry point;
//   (d) the type tests of scripts/pack-check/app/type-tests.ts (`@ts-expect-error` lines);
//   (e) `attw` (@arethetypeswrong/cli) on every tarball;
//   (f) `instanceof` across entry points under the test engine;
//   (g) install size and package count of core + zod and of core + store-sqlite + zod, and asserts
//       that the latter builds exactly one native module (better-sqlite3).
// Exits non-zero, naming each failed check, if anything fails.
//
// Usage: node scripts/pack-check.mjs [--no-build] [--keep]
//   --no-build  use the packages' current dist/ (scripts/test.mjs builds just before)
//   --keep      keep the temp dir (it is kept anyway when a check fails)
// Needs Node 20+, pnpm, npm and the registry. It takes about 4 minutes on 2 busy cores (measured
// 3.5–5): ~90 s npm compiling better-sqlite3 from source where no prebuilt binary can be downloaded,
// ~40 s the getting-started story (it waits for its own 30-second durable sleep), ~30 s tsc, ~20 s attw.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gettingStarted } from './pack-check/getting-started.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'scripts', 'pack-check', 'app')
const args = new Set(process.argv.slice(2))
const started = Date.now()

/** Pinned tools of the fresh app: a TypeScript that users of Node 20 have, and attw that runs on Node 20. */
const TOOLS = ['typescript@~5.9.3', '@types/node@^20.19.0', 'tsx@^4.20.0', 'esbuild@^0.25.0', '@arethetypeswrong/cli@0.18.5']
/** What `npm install @do-sdk/core @do-sdk/store-sqlite zod` may compile: only the default SQLite driver. */
const EXPECTED_NATIVE = ['better-sqlite3']
const NPM_FLAGS = ['--no-audit', '--no-fund', '--loglevel=error']

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MB`
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} kB`

/** Runs a command; resolves with its output, rejects with the output's tail when it fails or times out. */
const run = (cmd, argv, { cwd = root, timeoutMs = 300_000, env } = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (error) => reject(new Error(`${cmd} could not start: ${error.message}`)))
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) return resolve(out)
      const why = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, timeout ${seconds(timeoutMs)}` : ''})` : `exited with ${code}`
      reject(new Error(`\`${[cmd, ...argv].join(' ')}\` in ${cwd} ${why}:\n${out.trim().split('\n').slice(-40).join('\n')}`))
    })
  })

const failures = []
/** Runs one named check; a failure is recorded and reported at the end, the other checks still run. */
const check = async (name, fn) => {
  const t0 = Date.now()
  try {
    const note = await fn()
    console.log(`  ✔ ${name} (${seconds(Date.now() - t0)})${note ? `: ${note}` : ''}`)
  } catch (error) {
    failures.push(name)
    console.log(`  ✘ ${name} (${seconds(Date.now() - t0)})\n${indent(error instanceof Error ? error.message : String(error))}`)
  }
}
const indent = (text) =>
  text
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n')
/** A step the others depend on: a failure ends the check at once. */
const must = async (name, fn) => {
  const t0 = Date.now()
  console.log(`\n[pack-check] ${name}`)
  try {
    const result = await fn()
    console.log(`  done in ${seconds(Date.now() - t0)}`)
    return result
  } catch (error) {
    fail(`${name} failed:\n${indent(error instanceof Error ? error.message : String(error))}`)
  }
}
let work
const fail = (message) => {
  console.error(`\n[pack-check] ✘ ${message}`)
  if (work) console.error(`[pack-check] the fresh app is kept in ${work}`)
  process.exit(1)
}

/** The packages a user installs: every packages/* whose package.json is not private. */
const publishable = () =>
  readdirSync(join(root, 'packages'))
    .sort()
    .map((dir) => ({
      dir: join(root, 'packages', dir),
      pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')),
    }))
    .filter(({ pkg }) => !pkg.private)

/** Every import specifier the package offers (its `exports` keys), e.g. `@do-sdk/core/testing`. */
const entryPoints = (pkg) =>
  Object.keys(pkg.exports ?? { '.': null })
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`))

/** Files of a tarball with their sizes, from `tar -tvzf`. */
const tarballFiles = async (file) =>
  (await run('tar', ['-tvzf', file]))
    .trim()
    .split('\n')
    .map((line) => {
      const parts = line.trim().split(/\s+/)
      return {
        size: Number(parts[2]),
        path: parts
          .slice(5)
          .join(' ')
          .replace(/^package\//, ''),
      }
    })

/** Installed packages under a node_modules folder (nested ones included), and which of them are native addons. */
const installed = (nodeModules) => {
  const found = []
  const visit = (dir) => {
    let names
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    for (const name of names) {
      if (name.startsWith('.')) continue
      const full = join(dir, name)
      if (name.startsWith('@')) {
        visit(full)
        continue
      }
      let pkg
      try {
        pkg = JSON.parse(readFileSync(join(full, 'package.json'), 'utf8'))
      } catch {
        continue
      }
      const native = pkg.gypfile === true || readdirSync(full).includes('binding.gyp')
      found.push({ name: pkg.name, native })
      visit(join(full, 'node_modules'))
    }
  }
  visit(nodeModules)
  return found
}
const duBytes = async (dir) => Number((await run('du', ['-sk', dir])).split(/\s+/)[0]) * 1024

const npmInstall = (cwd, specs, timeoutMs = 900_000) => run('npm', ['install', ...NPM_FLAGS, ...specs], { cwd, timeoutMs })

const freshApp = (name) => {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`)
  return dir
}

// ---------------------------------------------------------------------------------------------

console.log(`[pack-check] Node ${process.version}, npm ${(await run('npm', ['--version'])).trim()}`)
const packages = publishable()

if (!args.has('--no-build')) {
  await must('build', () => run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only']))
}

work = mkdtempSync(join(tmpdir(), 'do-sdk-pack-check-'))
const tarDir = join(work, 'tarballs')
mkdirSync(tarDir)

const tarballs = await must(`pack ${packages.length} packages into ${tarDir}`, async () => {
  const result = {}
  for (const { dir, pkg } of packages) {
    await run('pnpm', ['pack', '--pack-destination', tarDir], { cwd: dir })
    const file = join(tarDir, `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`)
    if (!existsSync(file)) throw new Error(`pnpm pack of ${pkg.name} did not write ${file}`)
    result[pkg.name] = { file, pkg, entries: entryPoints(pkg), files: await tarballFiles(file) }
  }
  return result
})

console.log('\n[pack-check] tarballs')
await check('every tarball ships its README, package.json and dist/, no source maps', () => {
  const problems = []
  for (const [name, t] of Object.entries(tarballs)) {
    const paths = t.files.map((f) => f.path)
    for (const required of ['README.md', 'package.json']) if (!paths.includes(required)) problems.push(`${name} has no ${required}`)
    if (!paths.some((p) => p.startsWith('dist/'))) problems.push(`${name} has no dist/`)
    const maps = paths.filter((p) => p.endsWith('.map'))
    if (maps.length > 0) problems.push(`${name} ships source maps: ${maps.join(', ')}`)
  }
  if (problems.length > 0) throw new Error(problems.join('\n'))
})
console.log(`\n  | package | tarball | unpacked | files |\n  | --- | ---: | ---: | ---: |`)
for (const [name, t] of Object.entries(tarballs)) {
  const unpacked = t.files.reduce((sum, f) => sum + f.size, 0)
  console.log(`  | ${name} | ${kb(statSync(t.file).size)} | ${kb(unpacked)} | ${t.files.length} |`)
}

// Two installs in parallel: core + zod alone (measured only), and the app, which starts as core +
// store-sqlite + zod (measured, native modules counted) and then gets everything else.
const core = tarballs['@do-sdk/core']?.file
const sqlite = tarballs['@do-sdk/store-sqlite']?.file
if (!core || !sqlite) fail('@do-sdk/core and @do-sdk/store-sqlite must both be publishable packages')
const sizeApp = freshApp('core-only')
const app = freshApp('app')
const measures = await must('npm install core + zod, and core + store-sqlite + zod (compiles native modules)', () =>
  Promise.all([
    npmInstall(sizeApp, [core, 'zod@^4']).then(() => measure(sizeApp)),
    npmInstall(app, [core, sqlite, 'zod@^4']).then(() => measure(app)),
  ]),
)
async function measure(dir) {
  const list = installed(join(dir, 'node_modules'))
  return { bytes: await duBytes(join(dir, 'node_modules')), count: list.length, native: list.filter((p) => p.native).map((p) => p.name) }
}

await must('npm install the other tarballs and the tools', () =>
  npmInstall(app, [
    ...Object.values(tarballs)
      .map((t) => t.file)
      .filter((f) => f !== core && f !== sqlite),
    ...TOOLS,
  ]),
)
cpSync(fixtures, app, { recursive: true })
const entries = Object.values(tarballs).flatMap((t) => t.entries)
const bin = (name) => join(app, 'node_modules', '.bin', name)
const noRequireEsm = ['--no-experimental-require-module']

console.log('\n[pack-check] checks in the fresh app')
await check('(e) attw on every tarball', async () => {
  for (const t of Object.values(tarballs)) await run(bin('attw'), ['--format', 'ascii', t.file], { cwd: app })
  return `${Object.keys(tarballs).length} tarballs, ${entries.length} entry points, node10 / node16 (CJS, ESM) / bundler`
})
const lastLine = (out) => out.trim().split('\n').at(-1)
await check('(b) ESM smoke', async () => lastLine(await run('node', ['smoke.mjs', JSON.stringify(entries)], { cwd: app })))
await check('(b) CJS smoke, node --no-experimental-require-module', async () =>
  lastLine(await run('node', [...noRequireEsm, 'smoke.cjs', JSON.stringify(entries)], { cwd: app })),
)
// node:test prints TAP; the check shows it only when the test fails (in the error).
await check('(f) instanceof across entry points under the test engine, ESM', async () => {
  await run('node', ['instanceof.mjs'], { cwd: app })
})
await check('(f) instanceof across entry points under the test engine, CJS', async () => {
  await run('node', [...noRequireEsm, 'instanceof.cjs'], { cwd: app })
})
writeFileSync(
  join(app, 'entries.ts'),
  `${entries.map((e, i) => `import * as entry${i} from '${e}'`).join('\n')}\nexport { ${entries.map((_, i) => `entry${i}`).join(', ')} }\n`,
)
writeFileSync(
  join(app, 'entries.cts'),
  `${entries.map((e, i) => `import entry${i} = require('${e}')`).join('\n')}\nexport = { ${entries.map((_, i) => `entry${i}`).join(', ')} }\n`,
)
// The two programs are independent: typecheck them side by side. node16 checks every declaration file
// (skipLibCheck off, ~15 s), bundler runs as most apps do (skipLibCheck on, as `tsc --init` sets it).
await Promise.all(
  ['node16', 'bundler'].map((mode) =>
    check(`(c, d) tsc --noEmit, moduleResolution ${mode}: every entry point and the type tests`, async () => {
      await run(bin('tsc'), ['-p', `tsconfig.${mode}.json`], { cwd: app })
    }),
  ),
)
await check('(a) docs/getting-started.md, verbatim', () => gettingStarted({ doc: join(root, 'docs', 'getting-started.md'), app, bin, run }))

console.log('\n[pack-check] (g) install size')
const [coreOnly, withSqlite] = measures
console.log('  | npm install | packages | node_modules | native modules |\n  | --- | ---: | ---: | --- |')
for (const [label, m] of [
  ['@do-sdk/core zod', coreOnly],
  ['@do-sdk/core @do-sdk/store-sqlite zod', withSqlite],
]) {
  console.log(`  | ${label} | ${m.count} | ${mb(m.bytes)} | ${m.native.length}${m.native.length ? ` (${m.native.join(', ')})` : ''} |`)
}
await check(`(g) core + zod installs no native module`, () => {
  if (coreOnly.native.length > 0) throw new Error(`native modules: ${coreOnly.native.join(', ')}`)
})
await check(`(g) core + store-sqlite + zod builds exactly one native module (${EXPECTED_NATIVE.join(', ')})`, () => {
  const got = [...withSqlite.native].sort()
  if (got.join() !== EXPECTED_NATIVE.join()) {
    throw new Error(
      `it builds ${got.length}: ${got.join(', ')}. Every native module is a compile from source (minutes) where no prebuilt binary downloads.`,
    )
  }
})

console.log(`\n[pack-check] ${seconds(Date.now() - started)} in all`)
if (failures.length > 0) fail(`${failures.length} check(s) failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`)
if (!args.has('--keep')) rmSync(work, { recursive: true, force: true })
console.log('[pack-check] ✔ all checks passed')
