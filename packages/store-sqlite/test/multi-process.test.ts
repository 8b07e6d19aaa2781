import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StoreError } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { afterAll, describe, expect, it } from 'vitest'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-multi-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs a node script in its own process; resolves with stdout, rejects with stderr on a non-zero exit. */
const run = (args: string[], onStdout?: (chunk: string, child: ChildProcess) => void) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
      onStdout?.(String(d), child)
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d
    })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}:\n${err}`))))
  })

const worker = (path: string, driver: string, increments: number, loops: number) =>
  run(['--import', './test/fixtures/register-ts.mjs', 'test/fixtures/cas-worker.ts', path, driver, String(increments), String(loops)])

/** Starts a process holding the write lock for `ms`; resolves once it holds it. */
const holdLock = (path: string, ms: number) =>
  new Promise<{ done: Promise<string> }>((resolve, reject) => {
    const done = run(['test/fixtures/lock-holder.mjs', path, String(ms)], (chunk) => {
      if (chunk.includes('locked')) resolve({ done })
    })
    done.catch(reject)
  })

describe('sqliteStore shared by several processes', () => {
  it('two processes (one per driver) hammering compare-and-set on one file: no SQLITE_BUSY, exact counter', async () => {
    const path = join(dir, 'cas.db')
    const setup = sqliteStore({ path })
    await setup.get('counter') // creates the file and table before the race
    await setup.close?.()
    const outputs = await Promise.all([worker(path, 'better-sqlite3', 150, 3), worker(path, 'sqlite3', 150, 3)])
    const attempts = outputs.map((o) => (JSON.parse(o) as { attempts: number }).attempts)
    const store = sqliteStore({ path })
    const counter = await store.get('counter')
    expect(counter?.value).toBe('300')
    expect(counter?.version).toBe(300)
    expect((await store.list('log/')).length).toBe(300) // each increment's second key committed with it, never alone
    expect(attempts[0]! + attempts[1]!).toBeGreaterThanOrEqual(300)
    await store.close?.()
  })

  it('a write waits for another process holding the lock, then succeeds', async () => {
    const path = join(dir, 'wait.db')
    const store = sqliteStore({ path })
    await store.get('x')
    const holder = await holdLock(path, 400)
    const started = Date.now()
    expect(await store.batch([{ op: 'set', key: 'mine', value: 'v', ifVersion: 0 }])).toEqual({ ok: true, versions: [1] })
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    await holder.done
    expect((await store.get('from-holder'))?.value).toBe('x')
    await store.close?.()
  })

  it('a lock held longer than busyTimeoutMs (twice) surfaces as a StoreError that names the file and the lock', async () => {
    const path = join(dir, 'busy.db')
    for (const driver of ['better-sqlite3', 'sqlite3'] as const) {
      const store = sqliteStore({ path, driver, busyTimeoutMs: 50 })
      await store.get('x')
      const holder = await holdLock(path, 600)
      const error = await store.batch([{ op: 'set', key: `k-${driver}`, value: 'v' }]).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect((error as Error).message).toMatch(
        /^\[do-sdk\] \[sqlite\] batch of 1 ops on "k-.*" failed \(.*busy\.db\): (SQLITE_BUSY: )?database is locked$/,
      )
      await holder.done
      expect(await store.get(`k-${driver}`)).toBeUndefined()
      await store.close?.()
      rmSync(path, { force: true })
    }
  })
})
