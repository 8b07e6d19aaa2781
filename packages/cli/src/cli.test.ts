// runCli in-process: the argument checks that answer before anything is opened (the bin's own
// process-level behaviour is tested in test/usage.test.ts).
import { describe, expect, it } from 'vitest'
import { runCli } from './cli.js'

const run = async (argv: string[], env: Record<string, string> = {}) => {
  let stdout = ''
  let stderr = ''
  const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: '/srv/app', env })
  return { code, stdout, stderr }
}

const store = ['--store', 'sqlite:./do.db']

describe('runCli usage errors: exit 2, the message, then the usage', () => {
  it.each([
    [['runs'], /^do-sdk: "runs" needs a subcommand: list, count, show, signal, cancel, retry, fork\n/],
    [['runs', 'stop', 'r-1', ...store], /^do-sdk: Unknown command "runs stop"/],
    [['runs', 'show', ...store], /^do-sdk: Missing <runId>\n\nUsage: do-sdk runs show <runId>/],
    [['runs', 'signal', 'r-1', ...store], /^do-sdk: Missing <name>/],
    [['runs', 'show', 'r-1', 'r-2', ...store], /^do-sdk: Unexpected argument "r-2"/],
    [['runs', 'list'], /^do-sdk: Missing --store <url> \(or set DO_SDK_STORE\)/],
    [['runs', 'list', '--store'], /^do-sdk: Option '--store <value>' argument missing/],
    [['runs', 'list', '--status', 'done', ...store], /^do-sdk: --status: unknown run status "done" \(one of pending, running, /],
    [['runs', 'list', '--limit', '0', ...store], /^do-sdk: --limit: expected a whole number from 1 to 1000, got "0"/],
    [['runs', 'list', '--limit', '5000', ...store], /^do-sdk: --limit: expected a whole number from 1 to 1000/],
    [['runs', 'list', '--from', 'yesterday', ...store], /^do-sdk: --from: "yesterday" is not a time/],
    [['runs', 'count', '--id-prefix', 'x', ...store], /^do-sdk: Unknown option '--id-prefix'/],
    [['runs', 'signal', 'r-1', 'go', '--payload', '{nope', ...store], /^do-sdk: --payload: not valid JSON/],
    [['runs', 'fork', 'r-1', '--workflows', './w.js', ...store], /^do-sdk: runs fork needs --from-step <stepId>/],
    [['runs', 'list', '--schema', 'app', ...store], /^do-sdk: --schema applies to postgres:\/\/ stores only/],
    [['runs', 'list', '--timeout', 'soon', ...store], /^do-sdk: --timeout: "soon" is not a duration/],
    [['replay-check', ...store], /^do-sdk: replay-check needs --workflows <module>/],
    [['schedules'], /^do-sdk: "schedules" needs a subcommand: list, show, pause, resume, trigger\n/],
    [['schedules', 'delete', 'nightly', ...store], /^do-sdk: Unknown command "schedules delete" \(schedules subcommands: list, show, /],
    [['schedules', 'pause', ...store], /^do-sdk: Missing <scheduleId>\n\nUsage: do-sdk schedules pause <scheduleId>/],
    [['schedules', 'list', '--limit', '0', ...store], /^do-sdk: --limit: expected a whole number from 1 to 1000, got "0"/],
    [
      ['schedules', 'trigger', 'nightly', ...store],
      /^do-sdk: schedules trigger needs --workflows <module>: the run is created on today's definition/,
    ],
    [['replay-check', '--limit', '-1', '--workflows', './w.js', ...store], /^do-sdk: Option '--limit' argument is ambiguous/],
  ])('%j', async (argv, message) => {
    const r = await run(argv)
    expect(r.stderr).toMatch(message)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
  })
})

describe('runCli', () => {
  it('takes the store from DO_SDK_STORE when --store is not given', async () => {
    const r = await run(['runs', 'count'], { DO_SDK_STORE: 'sqlite:./from-env.db' })
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'do-sdk: No SQLite database at /srv/app/from-env.db (check the path of --store)\n' })
  })

  it('--help after a command prints that command, with the flags every command takes', async () => {
    const r = await run(['runs', 'list', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Usage: do-sdk runs list \[--workflow id\] \[--status s\[,s\]\]/)
    expect(r.stdout).toContain('--namespace <ns>')
  })
})
