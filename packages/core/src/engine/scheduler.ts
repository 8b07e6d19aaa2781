import type { ListedEntry, WriteOp } from '../datastore/types.js'
import { CorruptRecordError, DoSdkError, toError } from '../errors.js'
import type { Engine } from './engine.js'
import { keys, runIdOfDueKey } from './keys.js'
import { type RunRecord, TERMINAL, toStoredError } from './records.js'

const DUE_TIME_START = 'due/'.length
const dueTime = (key: string) => Number(key.slice(DUE_TIME_START, DUE_TIME_START + 13))

/**
 * Finds work in the due index and claims it: woken timers, signalled runs, runs whose owner's
 * lease expired (takeover), and finished runs past their retention (removal). One poll at a time;
 * a timer re-arms itself for the earliest due entry, so wake-ups are prompt without busy polling.
 */
export class Scheduler {
  private polling: Promise<void> | undefined
  private again = false
  private cancelTimer: (() => void) | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private cancelRenew: (() => void) | undefined
  private failures = 0
  private firstPass = true
  /** Due entries the last pass looked at and left where they are. */
  private readonly left = new Set<string>()
  running = false

  constructor(private readonly engine: Engine) {}

  start() {
    this.running = true
    this.arm(this.engine.clock.now())
    this.renewLoop()
  }

  stop() {
    this.running = false
    this.cancelTimer?.()
    this.cancelTimer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
  }

  /** Stops renewing leases (after the engine drained or was killed). */
  halt() {
    this.stop()
    this.cancelRenew?.()
    this.cancelRenew = undefined
  }

  /** Arms the wake-up timer for `at` if that is earlier than the one armed. */
  arm(at: number) {
    if (!this.running || at >= this.timerAt) return
    this.cancelTimer?.()
    this.timerAt = at
    const delay = Math.max(0, at - this.engine.clock.now())
    this.cancelTimer = this.engine.clock.setTimer(() => {
      this.timerAt = Number.POSITIVE_INFINITY
      this.cancelTimer = undefined
      void this.poll()
    }, delay)
  }

  /** Polls now (coalesced with a poll in progress). Resolves when the poll, and any it queued, are done. */
  poll(): Promise<void> {
    if (this.polling) {
      this.again = true
      return this.polling
    }
    this.polling = this.loop().finally(() => {
      this.polling = undefined
      // Asked for between the loop's last check and here: run again.
      if (this.again && this.running) void this.poll()
    })
    return this.polling
  }

  /** True while a poll is in progress. */
  get busy(): boolean {
    return this.polling !== undefined
  }

  private async loop() {
    const e = this.engine
    for (;;) {
      this.again = false
      if (!this.running) return
      try {
        await this.pass()
        this.failures = 0
      } catch (error) {
        this.failures++
        const err = toError(error)
        e.log.warn(`Polling the store failed (${err.message}); retrying`, { failures: this.failures })
        if (e.hooks.has('error')) e.hooks.emit('error', { source: 'scheduler', error: err })
        this.arm(e.clock.now() + Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6)))
        return
      }
      if (this.again) continue
      // Next wake-up: the earliest due entry this pass did not just look at and leave (a run executing
      // here or leased elsewhere: its own end or lease expiry wakes it), or the poll interval (other
      // processes may add work). Re-arming on a left entry would spin.
      let next = e.clock.now() + e.pollIntervalMs
      try {
        const first = (await e.store.list(keys.duePrefix, { limit: 50 })).find((entry) => !this.left.has(entry.key))
        if (first) {
          // Due already: pass again, unless this engine is full (an ending run polls when room frees up).
          if (dueTime(first.key) <= e.clock.now()) this.again = e.executions.size < e.concurrency
          else next = Math.min(next, dueTime(first.key))
        }
      } catch {}
      if (this.again) continue
      this.arm(next)
      // A poll asked for while this one was finishing must not be lost.
      if (!this.again) return
    }
  }

  /** One pass over the due index. */
  private async pass() {
    const e = this.engine
    for (;;) {
      const now = e.clock.now()
      // Entries up to one lease ahead: runs this engine id held in a previous (dead) incarnation, and
      // on a single-process store every held run, are taken at once instead of after their lease.
      // With several processes, only the first pass looks ahead: afterwards the entries ahead are other
      // engines' live leases, and reading them on every poll would only cost.
      const horizon = e.multiProcess && !this.firstPass ? now : now + e.leaseMs
      const due = await e.store.list(keys.duePrefix, { before: keys.dueBefore(horizon), limit: 200 })
      let claimed = 0
      this.left.clear()
      for (const entry of due) {
        if (!this.running) return
        if (e.executions.size >= e.concurrency) return
        if (await this.handle(entry, now)) claimed++
        else this.left.add(entry.key)
      }
      if (due.length < 200 || claimed === 0) {
        this.firstPass = false
        return
      }
    }
  }

  private async handle(entry: ListedEntry, now: number): Promise<boolean> {
    const e = this.engine
    const runId = runIdOfDueKey(entry.key)
    const at = dueTime(entry.key)
    if (entry.value === 'gc') {
      if (at <= now) await this.collect(runId, entry)
      return false
    }
    if (e.executions.has(runId)) {
      e.executions.get(runId)!.wakeRequested = true
      return false
    }
    const got = await e.store.get(keys.run(runId))
    if (!got) {
      await e.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return false
    }
    let record: RunRecord
    try {
      record = e.store.decode<RunRecord>(got, keys.run(runId))
    } catch (error) {
      await this.failCorrupt(runId, got.version, entry, error)
      return false
    }
    if (TERMINAL.has(record.status)) {
      if (entry.key !== record.dueKey) await e.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return false
    }
    const leaseLive = record.owner !== undefined && (record.leaseUntil ?? 0) > now
    const mine = record.owner === e.engineId
    if (leaseLive && !mine && e.multiProcess) return false
    if (at > now && !(record.owner && (mine || !e.multiProcess))) return false
    return e.claim(record, got.version, entry)
  }

  /** A run record that cannot be decoded fails that run with a clear error; the others go on. */
  private async failCorrupt(runId: string, version: number, entry: ListedEntry, error: unknown) {
    const e = this.engine
    const err = DoSdkError.isInstance(error)
      ? error
      : new CorruptRecordError(`Run "${runId}" record is unreadable`, keys.run(runId), { cause: error })
    e.log.error(`Run "${runId}" failed: its record is unreadable (${err.message})`)
    if (e.hooks.has('error')) e.hooks.emit('error', { source: 'corrupt-record', error: err, runId })
    const now = e.clock.now()
    const record: Partial<RunRecord> = {
      f: 1,
      id: runId,
      workflowId: 'unknown',
      workflowVersion: 'unknown',
      status: 'failed',
      error: toStoredError(err, false),
      nonce: 'corrupt',
      generation: 0,
      createdAt: now,
      updatedAt: now,
      finishedAt: now,
      steps: 0,
    }
    await e.store.batch([
      { op: 'delete', key: entry.key },
      { op: 'set', key: keys.run(runId), value: e.store.encode(record, 'run'), ifVersion: version },
    ])
  }

  /** Removes a finished run past its retention: journal and signals first, the record last. */
  private async collect(runId: string, entry: ListedEntry) {
    const e = this.engine
    const got = await e.store.get(keys.run(runId))
    const ops: WriteOp[] = []
    for (const prefix of [keys.journalAllPrefix(runId), keys.signalPrefix(runId)]) {
      for (const item of await e.store.list(prefix)) ops.push({ op: 'delete', key: item.key })
    }
    if (ops.length) await e.store.batch(ops)
    if (got) {
      let record: RunRecord | undefined
      try {
        record = e.store.decode<RunRecord>(got, keys.run(runId))
      } catch {}
      if (record && !TERMINAL.has(record.status)) {
        await e.store.batch([{ op: 'delete', key: entry.key }])
        return
      }
      await e.store.batch([
        { op: 'delete', key: keys.run(runId), ifVersion: got.version },
        { op: 'delete', key: entry.key },
      ])
    } else await e.store.batch([{ op: 'delete', key: entry.key }])
  }

  /** Renews the leases of the runs executing here, well before they expire. */
  private renewLoop() {
    const e = this.engine
    const every = Math.max(10, Math.floor(e.leaseMs / 3))
    this.cancelRenew = e.clock.setTimer(() => {
      const now = e.clock.now()
      for (const exec of e.executions.values()) {
        if (!exec.closed && (exec.record.leaseUntil ?? 0) - now < e.leaseMs - every) void exec.renewLease()
      }
      e.renewEngineLock()
      this.renewLoop()
    }, every)
  }
}
