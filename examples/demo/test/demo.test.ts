import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const start = (dir: string, extra: string[] = []) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--dir', dir, '--port', '0', ...extra], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const waitFor = async (text: string, ms = 30_000) => {
    const until = Date.now() + ms
    while (!out.includes(text)) {
      if (Date.now() > until) throw new Error(`timed out waiting for "${text}" in:\n${out}`)
      if (child.exitCode !== null) throw new Error(`demo exited (${child.exitCode}) before "${text}":\n${out}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return { child, exited, waitFor, output: () => out }
}

const kill9 = async (child: ChildProcess) => {
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))
}

describe('the demo', () => {
  it('prints the whole story and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'do-demo-'))
    dirs.push(dir)
    const demo = start(dir, ['--click-after', '200', '--sleep', '1s'])
    expect(await demo.exited).toBe(0)
    const out = demo.output()
    for (const text of [
      'run onboarding:usr_12345 started',
      'email.send#1',
      '"status": "email_sent"',
      'waiting for the email.clicked',
      'received through the webhook',
      'sleeping until',
      'insert#1',
      '"status": "active"',
      'completed',
      'Step timeline',
    ]) {
      expect(out).toContain(text)
    }
    expect(readdirSync(join(dir, 'outbox')).filter((f) => f.endsWith('.eml'))).toHaveLength(1)
  }, 60_000)

  it('killed with SIGKILL while it waits and while it sleeps, resumes and finishes without repeating a step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'do-demo-'))
    dirs.push(dir)
    const first = start(dir, ['--manual', '--sleep', '3s'])
    await first.waitFor('waiting for the email.clicked')
    await kill9(first.child)

    const second = start(dir, ['--click-after', '100', '--sleep', '3s'])
    await second.waitFor('sleeping until')
    await kill9(second.child)
    expect(second.output()).toContain('resuming run onboarding:usr_12345 at step')
    expect(second.output()).not.toContain('email.send#1 (')

    const third = start(dir, ['--sleep', '3s'])
    expect(await third.exited).toBe(0)
    const out = third.output()
    expect(out).toContain('resuming run onboarding:usr_12345 at step')
    expect(out).toContain('completed')
    expect(out).not.toContain('email.send#1 (')
    expect(out).toContain('emails in the outbox: 1')
    expect(readdirSync(join(dir, 'outbox')).filter((f) => f.endsWith('.eml'))).toHaveLength(1)
    expect(out).toMatch(/"user_id": "usr_12345"/)
    expect(out.match(/"user_id"/g)).toHaveLength(1)
  }, 90_000)
})
