// (a) of scripts/pack-check.mjs: the getting-started story of docs/getting-started.md, in the
// fresh app, with the code taken from the doc at check time (no copy to drift from the doc).
//
// The doc marks the files a reader saves with `file=<name>` in a code block's info string
// (```ts file=main.ts, ```json file=tsconfig.json, ```sh file=bundle.sh). They are written to
// <app>/getting-started/, typechecked with the doc's tsconfig, and run as section 4 tells the
// reader to: start, kill -9 while it waits, start again and click, kill -9 during the sleep,
// start again and see it complete; then the bundle of the doc's bundling section prints the same.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

const REQUIRED = ['onboarding.ts', 'main.ts', 'tsconfig.json', 'bundle.sh']
const PORT = 3000 // main.ts listens there (the doc's curl commands say so)
const RUN_ID = 'onboarding:usr_1'

/** The `file=<name>` code blocks of a Markdown text, by name. */
export const savedFiles = (markdown) => {
  const files = {}
  const fence = /^(`{3,})\s*\w+\s+[^\n]*\bfile=([\w.-]+)[^\n]*\n([\s\S]*?)^\1\s*$/gm
  for (const [, , name, code] of markdown.matchAll(fence)) files[name] = code
  return files
}

export const gettingStarted = async ({ doc, app, bin, run }) => {
  const files = savedFiles(readFileSync(doc, 'utf8'))
  const missing = REQUIRED.filter((name) => !(name in files))
  if (missing.length > 0) throw new Error(`docs/getting-started.md has no code block marked file=${missing.join(', file=')}`)
  const dir = join(app, 'getting-started')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir)
  for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code)

  await run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: dir })
  await portIsFree(PORT)

  const started = []
  const start = (cmd, argv) => {
    const p = launch(cmd, argv, dir)
    started.push(p)
    return p
  }
  try {
    // 1. The run sends the email and waits for the click.
    let p = start(bin('tsx'), ['main.ts'])
    await p.waitFor(/⏸ waiting for email\.clicked/)
    expectOnce(p, /✉ welcome email to Jane/, 'first start')
    p.kill()

    // 2. Started again: the trigger returns the run, no second email; the click resumes it into its sleep.
    p = start(bin('tsx'), ['main.ts'])
    await p.waitFor(new RegExp(`run ${RUN_ID}; click with`))
    await click()
    await p.waitFor(/↻ resuming onboarding:usr_1: 3 steps already done, not run again/)
    await p.waitFor(/⏾ sleeping until/)
    if (/✉/.test(p.output)) throw new Error(`the second start sent the email again:\n${p.output}`)
    p.kill()

    // 3. Killed during the 30-second sleep, started again: it wakes on time and completes.
    p = start(bin('tsx'), ['main.ts'])
    await p.exited(120_000)
    for (const line of [
      /↻ resuming onboarding:usr_1: 5 steps already done, not run again/,
      /✔ account usr_1 activated/,
      /■ completed: \{ activated: true, activatedAt: '/,
      /status: 'completed'/,
      /'setState#3 completed'/,
    ]) {
      if (!line.test(p.output)) throw new Error(`the last start did not print ${line}:\n${p.output}`)
    }
    if (/✉/.test(p.output)) throw new Error(`the last start sent the email again:\n${p.output}`)

    // 4. The doc's bundle command, then the bundle: the finished run prints the same result.
    await run('sh', ['bundle.sh'], { cwd: dir, env: { PATH: `${join(app, 'node_modules', '.bin')}:${process.env.PATH}` } })
    p = start('node', ['dist/main.js'])
    await p.exited(60_000)
    if (!/■ completed: \{ activated: true/.test(p.output) || /✔ account/.test(p.output)) {
      throw new Error(`the bundled app did not print the finished run's result (and only that):\n${p.output}`)
    }
    return 'typechecked with its tsconfig; start, kill -9, start + click, kill -9 in the sleep, start: completed once; bundled: same result'
  } finally {
    for (const p of started) p.kill()
  }
}

/** Starts a process in its own process group, so that kill -9 reaches tsx's child process too. */
const launch = (cmd, argv, cwd) => {
  const child = spawn(cmd, argv, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const p = { output: '', code: undefined }
  const listeners = new Set()
  const changed = () => {
    for (const l of listeners) l()
  }
  child.stdout.on('data', (d) => {
    p.output += d
    changed()
  })
  child.stderr.on('data', (d) => {
    p.output += d
    changed()
  })
  child.on('close', (code, signal) => {
    p.code = code ?? signal
    changed()
  })
  const until = (test, what, timeoutMs) =>
    new Promise((resolve, reject) => {
      const done = () => {
        if (test()) {
          clearTimeout(timer)
          listeners.delete(done)
          resolve()
        } else if (p.code !== undefined) {
          clearTimeout(timer)
          listeners.delete(done)
          reject(new Error(`\`${cmd} ${argv.join(' ')}\` ended (${p.code}) before ${what}:\n${p.output}`))
        }
      }
      const timer = setTimeout(() => {
        listeners.delete(done)
        reject(new Error(`\`${cmd} ${argv.join(' ')}\`: no ${what} after ${timeoutMs / 1000} s:\n${p.output}`))
      }, timeoutMs)
      listeners.add(done)
      done()
    })
  p.waitFor = (pattern, timeoutMs = 60_000) => until(() => pattern.test(p.output), `output matching ${pattern}`, timeoutMs)
  p.exited = async (timeoutMs) => {
    await until(() => p.code !== undefined, 'exit', timeoutMs)
    if (p.code !== 0) throw new Error(`\`${cmd} ${argv.join(' ')}\` exited with ${p.code}:\n${p.output}`)
  }
  p.kill = () => {
    if (p.code !== undefined) return
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {}
  }
  return p
}

const expectOnce = (p, pattern, when) => {
  const count = p.output.split('\n').filter((l) => pattern.test(l)).length
  if (count !== 1) throw new Error(`${when}: ${count} lines match ${pattern}, expected 1:\n${p.output}`)
}

/** The doc's `curl -X POST 'localhost:3000/?run=onboarding:usr_1'`. */
const click = async () => {
  const res = await fetch(`http://localhost:${PORT}/?run=${RUN_ID}`, { method: 'POST' })
  if (res.status !== 202) throw new Error(`the click got HTTP ${res.status}: ${await res.text()}`)
}

const portIsFree = (port) =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', () => reject(new Error(`port ${port} is in use; the getting-started code listens on it: free it and run again`)))
    server.listen(port, () => server.close(resolve))
  })
