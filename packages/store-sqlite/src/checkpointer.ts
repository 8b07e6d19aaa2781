import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * WAL checkpoints on a worker thread, for the better-sqlite3 driver.
 *
 * In WAL mode a commit appends pages to the `-wal` file, and every 1,000 pages SQLite copies them
 * back into the database file (a checkpoint: a few thousand page writes and two fsyncs). With
 * better-sqlite3 that copy runs inside the `COMMIT` that crossed the threshold, on the event loop: a
 * stall of milliseconds every few dozen workflows, and about a tenth of the time of a sequential
 * workflow (measured, docs/benchmarks.md). Here a worker thread, with a connection of its own, runs
 * a `PASSIVE` checkpoint every `intervalMs`: it never waits for a lock and never blocks a reader or
 * a writer, so the copy happens beside the event loop, on another core.
 *
 * The driver keeps SQLite's own checkpoint as a safety net, at a higher threshold
 * ({@link SAFETY_NET_PAGES}) while the worker runs, so the WAL stays bounded if the worker falls
 * behind; and at SQLite's default if the worker cannot start (`onFailed`).
 */
export interface CheckpointerOptions {
  /** The database file (WAL mode, created by the main connection). */
  path: string
  synchronous: 'NORMAL' | 'FULL'
  /** Pause between two checkpoints, in ms. */
  intervalMs: number
  /** The worker opened its connection: the main connection may raise its own checkpoint threshold. */
  onReady(): void
  /** The worker could not start or died: the main connection must checkpoint on its own again. */
  onFailed(error: unknown): void
  /** After each checkpoint: frames in the WAL, and how many of them are in the database file (tests). */
  onCheckpoint?(framesInWal: number, framesCheckpointed: number): void
  /** Where the worker loads better-sqlite3 from (tests pass a broken one). @default resolved from this package */
  modulePath?: string
}

/** The main connection's `wal_autocheckpoint` while the worker runs: about 40 MB of WAL at worst. */
export const SAFETY_NET_PAGES = 10_000
/** SQLite's default `wal_autocheckpoint`, restored when the worker fails. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000

/** The worker's code (CommonJS, evaluated): open, say so, checkpoint on a timer, close when told. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.modulePath)
const db = new Database(workerData.path, { timeout: 0, fileMustExist: true })
db.pragma('synchronous = ' + workerData.synchronous)
parentPort.postMessage({ ready: true })
const timer = setInterval(() => {
  let row
  try {
    row = db.pragma('wal_checkpoint(PASSIVE)')[0]
  } catch {
    return // busy or locked: another checkpoint runs; the next tick tries again
  }
  if (workerData.report) parentPort.postMessage({ log: row.log, checkpointed: row.checkpointed })
}, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

/** better-sqlite3's entry file, as the main thread would import it from this package. */
const resolveBetterSqlite3 = (): string => {
  const here = typeof __filename === 'string' ? __filename : import.meta.url
  return createRequire(here).resolve('better-sqlite3')
}

/** Starts the worker; `stop` closes its connection and waits for it to exit (call it before closing the main connection). */
export const startCheckpointer = (o: CheckpointerOptions): { stop(): Promise<void> } => {
  let failed = false
  const fail = (error: unknown) => {
    if (failed) return
    failed = true
    o.onFailed(error)
  }
  let worker: Worker
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        modulePath: o.modulePath ?? resolveBetterSqlite3(),
        path: o.path,
        synchronous: o.synchronous,
        intervalMs: o.intervalMs,
        report: o.onCheckpoint !== undefined,
      },
    })
  } catch (error) {
    fail(error)
    return { stop: async () => {} }
  }
  let stopping = false
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (!stopping) fail(new Error(`the checkpoint worker exited (code ${code})`))
      resolve()
    }),
  )
  worker.on('message', (message: { ready?: true; log?: number; checkpointed?: number }) => {
    if (message.ready) o.onReady()
    else o.onCheckpoint?.(message.log as number, message.checkpointed as number)
  })
  worker.on('error', fail)
  // Never keeps the process alive. After the listeners: adding a `message` listener refs the worker again.
  worker.unref()
  return {
    async stop() {
      if (stopping) return exited
      stopping = true
      worker.ref() // the process waits for the worker's exit from here
      worker.postMessage('close')
      // A worker that hangs in its close is ended after a second.
      const timeout = setTimeout(() => void worker.terminate(), 1_000)
      timeout.unref()
      await exited
      clearTimeout(timeout)
    },
  }
}
