import { spawn } from 'node:child_process'
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

/** A node script running in its own process: its output so far, its exit, and a way to write a line to it. */
const spawnNode = (args: string[]) => {
  const child = spawn(process.execPath, args, { cwd: packageDir, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout.on('data', (d: Buffer) => {
    out += d
    for (const listener of listeners) listener()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d
  })
  const exited = new Promise<string>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}:\n${err}`))))
  })
  /** Resolves once stdout contains `text` (rejects if the process exits first). */
  const printed = (text: string) =>
    Promise.race([
      exited.then(() => {
        if (!out.includes(text)) throw new Error(`${args.join(' ')} exited without printing ${JSON.stringify(text)}`)
      }),
      new Promise<void>((resolve) => {
        const check = () => {
          if (!out.includes(text)) return
          listeners.delete(check)
          resolve()
        }
        listeners.add(check)
        check()
      }),
    ])
  return { child, exited, printed, send: (line: string) => child.stdin.write(`${line}\n`) }
}

const worker = (path: string, driver: string, increments: number, loops: number) => {
  const node = spawnNode([
    '--import',
    './test/fixtures/register-ts.mjs',
    'test/fixtures/cas-worker.ts',
    path,
    driver,
    String(increments),
    String(loops),
  ])
  node.child.stdin.end()
  return node.exited
}

/** Starts a process holding the write lock of `path` until `release()`; resolves once it holds it. */
const holdLock = async (path: string) => {
  const holder = spawnNode(['test/fixtures/lock-holder.mjs', path])
  await holder.printed('locked')
  return {
    /** Commits the holder's transaction and waits for it to exit. */
    release: async () => {
      holder.send('commit')
      await holder.exited
    },
  }
}

/**
 * Resolves once the event loop ran `turns` setImmediate callbacks and a 1 ms interval fired
 * `ticks` times while `pending()` held, with what it counted; resolves early if `pending()` stops holding.
 */
const loopRunsWhile = (pending: () => boolean, turns: number, ticks: number) =>
  new Promise<{ turns: number; ticks: number }>((resolve) => {
    const seen = { turns: 0, ticks: 0 }
    const interval = setInterval(() => {
      if (pending()) seen.ticks++
    }, 1)
    const turn = () => {
      if (pending()) seen.turns++
      if (!pending() || (seen.turns >= turns && seen.ticks >= ticks)) {
        clearInterval(interval)
        resolve(seen)
      } else setImmediate(turn)
    }
    setImmediate(turn)
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

  for (const driver of ['better-sqlite3', 'sqlite3'] as const) {
    it(`${driver}: a write waits for another process's lock without blocking the event loop, and commits once it is released`, async () => {
      const path = join(dir, `wait-${driver}.db`)
      // A budget no test run reaches: the batch can only settle by getting the lock. A synchronous
      // busy wait of that length would stop the counters below, and the test would time out.
      const store = sqliteStore({ path, driver, busyTimeoutMs: 600_000 })
      await store.batch([{ op: 'set', key: 'before', value: 'b' }])
      const holder = await holdLock(path)
      let settled = false
      const pending = store.batch([{ op: 'set', key: 'mine', value: 'v', ifVersion: 0 }]).finally(() => {
        settled = true
      })
      // Setimmediate callbacks and timers keep running while the batch waits for the lock...
      const seen = await loopRunsWhile(() => !settled, 200, 5)
      expect(settled).toBe(false)
      expect(seen.turns).toBeGreaterThanOrEqual(200)
      expect(seen.ticks).toBeGreaterThanOrEqual(5)
      // ...and so do reads (WAL: readers never wait for a writer).
      expect(await store.get('before')).toEqual({ value: 'b', version: 1 })
      expect(await store.count?.('')).toBe(1)
      expect(settled).toBe(false)
      await holder.release()
      expect(await pending).toEqual({ ok: true, versions: [1] })
      expect((await store.list('')).map((e) => e.key)).toEqual(['before', 'from-holder', 'mine'])
      await store.close?.()
    })
  }

  it('a lock held longer than busyTimeoutMs surfaces as a StoreError that names the batch, the file and the lock', async () => {
    const path = join(dir, 'busy.db')
    for (const driver of ['better-sqlite3', 'sqlite3'] as const) {
      const store = sqliteStore({ path, driver, busyTimeoutMs: 50 })
      await store.get('x')
      const holder = await holdLock(path)
      const error = await store.batch([{ op: 'set', key: `k-${driver}`, value: 'v' }]).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect((error as Error).message).toMatch(
        /^\[do-sdk\] \[sqlite\] batch of 1 op on "k-.*" \(.*busy\.db\) failed: (SQLITE_BUSY: )?database is locked$/,
      )
      await holder.release()
      expect(await store.get(`k-${driver}`)).toBeUndefined()
      await store.close?.()
      rmSync(path, { force: true })
    }
  })
})
