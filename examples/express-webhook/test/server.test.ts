import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'do-express-server-'))
const children: ReturnType<typeof spawn>[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** Starts `src/server.ts` as `pnpm start` would, on a free port and a SQLite file in `dir`. */
const startServer = async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DB_PATH: join(dir, 'do.db'), ACTIVATION_DELAY: '100ms', ENGINE_ID: 'server-test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const until = Date.now() + 10_000
  let url: string | undefined
  while (!(url = /listening on (http:\S+)/.exec(out)?.[1])) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`server did not start:\n${out}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  return { child, exited, url, output: () => out }
}

const getRun = async (url: string, id: string) => (await fetch(`${url}/runs/${encodeURIComponent(id)}`)).json() as Promise<any>

const waitForStatus = async (url: string, id: string, status: string) => {
  const until = Date.now() + 5_000
  for (;;) {
    const run = await getRun(url, id)
    if (run.status === status) return run
    if (Date.now() > until) throw new Error(`run ${id} is ${run.status}, not ${status}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('src/server.ts', () => {
  it('shuts down gracefully on SIGTERM, and a restarted process finishes the run from the same SQLite file', async () => {
    const first = await startServer()
    const signup = await fetch(`${first.url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', name: 'Ada' }),
    })
    expect(signup.status).toBe(202)
    const { runId } = (await signup.json()) as { runId: string }
    await waitForStatus(first.url, runId, 'waiting')

    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('SIGTERM: closing the server, then stopping the engine')
    expect(first.output()).toContain('stopped')
    // The dev transport prints the emails it sends.
    expect(first.output().match(/\[email\] to ada@example.com: Welcome, Ada!/g)).toHaveLength(1)

    const second = await startServer()
    expect((await getRun(second.url, runId)).status).toBe('waiting')
    const click = await fetch(`${second.url}/webhooks/email-clicked?runId=${encodeURIComponent(runId)}`, { method: 'POST' })
    expect(click.status).toBe(202)
    const done = await waitForStatus(second.url, runId, 'completed')
    expect(done.state.status).toBe('active')
    // Committed steps were not run again by the second process: no second welcome email.
    expect(second.output()).not.toContain('Welcome, Ada!')
    expect(second.output()).toContain('[email] to ada@example.com: Three tips to get started')

    second.child.kill('SIGINT')
    expect(await second.exited).toBe(0)
  }, 30_000)
})
