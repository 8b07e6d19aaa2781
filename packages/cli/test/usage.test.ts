// The bin's answers to command lines it cannot run: exit 2 with a message and a short usage for
// usage errors, exit 1 with one line for what it cannot find. Real processes, as a shell runs them.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, cli, tempDir } from './helpers.js'

afterAll(cleanup)

describe('usage', () => {
  it('--help prints every command and exits 0; no arguments prints it to stderr and exits 2', async () => {
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    for (const command of [
      'runs list',
      'runs count',
      'runs show',
      'runs signal',
      'runs cancel',
      'runs retry',
      'runs fork',
      'schedules list',
      'schedules show',
      'schedules pause',
      'schedules resume',
      'schedules trigger',
      'replay-check',
    ])
      expect(help.stdout).toContain(`do-sdk ${command} `)
    expect(help.stdout).toContain('--store <url>')
    const none = await cli([])
    expect(none.code).toBe(2)
    expect(none.stderr).toBe(help.stdout)
  })

  it('a command --help prints its usage and exits 0', async () => {
    const r = await cli(['runs', 'fork', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Usage: do-sdk runs fork <runId> --from-step <stepId> --workflows <module>/)
  })

  it('an unknown command or flag exits 2 with the message and a short usage', async () => {
    const command = await cli(['jobs', 'list'])
    expect(command.code).toBe(2)
    expect(command.stderr).toMatch(/^do-sdk: Unknown command "jobs"\n\nCommands: runs list, runs count, /)
    const flag = await cli(['runs', 'list', '--store', 'sqlite:./do.db', '--colour'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/^do-sdk: Unknown option '--colour'\n\nUsage: do-sdk runs list \[--workflow id\]/)
    expect(flag.stdout).toBe('')
  })

  it('a malformed store URL exits 2 without showing its password', async () => {
    const r = await cli(['runs', 'list', '--store', 'mysql://app:hunter2@db/app'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^do-sdk: Unknown store URL scheme "mysql:" in "mysql:\/\/app:\*\*\*@db\/app" \(use sqlite:/)
    expect(r.stderr).not.toContain('hunter2')
  })

  it('runs fork without --workflows exits 2 saying why it needs them', async () => {
    const r = await cli(['runs', 'fork', 'r-1', '--from-step', 'charge#1', '--store', 'sqlite:./do.db'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^do-sdk: runs fork needs --workflows <module>: the new run is created on today's definition/)
  })

  it('a missing store package is one line naming the package to install, exit 1', async () => {
    // From outside the workspace and without the NODE_PATH that `pnpm exec` sets, so that the
    // lookup in the project finds no copy either.
    const r = await cli(['runs', 'list', '--store', 'redis://127.0.0.1:1'], {
      cwd: tempDir(),
      env: { DO_SDK_CLI_HIDE: '@do-sdk/store-redis', NODE_PATH: '' },
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      'do-sdk: This store needs the package @do-sdk/store-redis, which is not installed: npm install @do-sdk/store-redis (or pnpm add / yarn add @do-sdk/store-redis)\n',
    )
  })

  it('a SQLite file that does not exist is not created: exit 1 naming the path', async () => {
    const dir = tempDir()
    const r = await cli(['runs', 'list', '--store', 'sqlite:./typo.db'], { cwd: dir })
    expect(r).toMatchObject({ code: 1, stderr: `do-sdk: No SQLite database at ${join(dir, 'typo.db')} (check the path of --store)\n` })
  })

  it('--workflows must name a built module that exports workflows', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'do.db'), '')
    const check = (module: string) => cli(['replay-check', '--workflows', module, '--store', `sqlite:${join(dir, 'do.db')}`])
    const ts = await check('./workflows.ts')
    expect(ts.code).toBe(2)
    expect(ts.stderr).toMatch(/^do-sdk: --workflows \.\/workflows\.ts: expected built JavaScript \(\.js, \.mjs, \.cjs\)/)
    const missing = await check('./missing.js')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^do-sdk: --workflows \.\/missing\.js: no such file/)
    const none = await check('./none.mjs')
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^do-sdk: --workflows \.\/none\.mjs: the module exports no workflow/)
    const broken = await check('./throws.mjs')
    expect(broken).toMatchObject({ code: 1, stderr: 'do-sdk: --workflows ./throws.mjs: the module failed to load: the module is broken\n' })
  })

  it('a store that does not answer fails at --timeout instead of hanging, exit 1', async () => {
    // Nothing listens on port 1: the Redis client keeps reconnecting, as it should in an engine.
    const r = await cli(['runs', 'count', '--store', 'redis://127.0.0.1:1', '--timeout', '1s'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^do-sdk: Gave up after 1\.0s \(--timeout\): the store at redis:\/\/127\.0\.0\.1:1 did not answer in time/)
  })
})
