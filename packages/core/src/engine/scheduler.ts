import type { ListedEntry, StoredEntry } from '../datastore/types.js'
import { toError } from '../errors.js'
import { keys, runIdOfDueKey, timeOfDueKey, timeOfTickKey } from './keys.js'
import { type RunRecord, TERMINAL } from './records.js'
import type { SchedulerHost } from './scheduler-contract.js'

const PAGE = 200

/**
 * The order to handle a page of runs in: by `priority` (higher first, see `workflow.create({
 * priority })`), then as listed. Only records that carry a priority are decoded for it.
 */
const byPriority = (records: (StoredEntry | undefined)[]): number[] => {
  const order = records.map((_, i) => i)
  let any = false
  const prio = records.map((r) => {
    if (!r?.value.includes('"priority":')) return 0
    try {
      const p = (JSON.parse(r.value) as { priority?: unknown }).priority
      any = true
      return typeof p === 'number' ? p : 0
    } catch {
      return 0
    }
  })
  return any ? order.sort((a, b) => (prio[b] as number) - (prio[a] as number) || a - b) : order
}

/**
 * Finds work and claims it. Two places say a run needs someone: the due index (timers, lease
 * expiries that mean takeover, runs created pending, cancellations to pass on to children, and
 * retention) and the inbox markers (runs with signals nobody has read). One poll at a time; a
 * pass pages through everything due, past runs it cannot take (busy elsewhere, a version this
 * engine lacks), so no run starves another. A timer re-arms for the earliest future entry, so
 * wake-ups are prompt without busy polling, and `pollInterval` catches work other processes add.
 */
export class Scheduler {
  private polling: Promise<void> | undefined
  private again = false
  private cancelTimer: (() => void) | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private cancelRenew: (() => void) | undefined
  private failures = 0
  private firstPass = true
  /** Concurrency slots were let go: the next pass also takes runs waiting for one before their due time. */
  private slotLookahead = false
  /**
   * Some run may wait for a concurrency slot (unknown at start: true). A pass that looked at every
   * waiting run and left none waiting clears it; a slot let go then costs no pass.
   */
  slotWaiters = true
  /** The concurrency keys (`workflowId NUL key`) a run waited for in this pass: runs after it queue behind. */
  readonly waitedThisPass = new Set<string>()
  /** This pass left a run unlooked at because the engine was full. */
  private passSkipped = false
  /** A slot was let go during this pass while no run was known to wait. */
  private freedInPass = false
  /** Runs this engine cannot run (version missing), by record version: logged once. */
  private readonly unrunnable = new Map<string, number>()
  running = false

  constructor(private readonly host: SchedulerHost) {}

  start() {
    this.running = true
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
    this.cancelTimer = this.host.clock.setTimer(
      () => {
        this.timerAt = Number.POSITIVE_INFINITY
        this.cancelTimer = undefined
        void this.poll()
      },
      Math.max(0, at - this.host.clock.now()),
    )
  }

  /**
   * A run let its concurrency slots go (here or, through pub/sub, in another process): runs waiting
   * for a slot (`pending`, reason `concurrency`) are looked at now instead of at their next look.
   */
  slotsFreed(): Promise<void> {
    if (!this.slotWaiters) {
      // None waiting as far as this engine knows; a pass in progress may be deferring one right now.
      if (this.polling) this.freedInPass = true
      return Promise.resolve()
    }
    this.slotLookahead = true
    return this.poll()
  }

  /** Polls now (coalesced with a poll in progress). Resolves when the poll, and any it queued, are done. */
  poll(): Promise<void> {
    if (this.polling) {
      this.again = true
      return this.polling
    }
    this.polling = this.loop().finally(() => {
      this.polling = undefined
      if (this.again && this.running) void this.poll()
    })
    return this.polling
  }

  get busy(): boolean {
    return this.polling !== undefined
  }

  private async loop() {
    const h = this.host
    for (;;) {
      this.again = false
      if (!this.running) return
      try {
        await this.pass()
        this.failures = 0
      } catch (error) {
        this.failures++
        const err = toError(error)
        h.log.warn(`Polling the store failed (${err.message}); retrying`, { failures: this.failures })
        if (h.hooks.has('error')) h.hooks.emit('error', { source: 'scheduler', error: err })
        this.arm(h.clock.now() + Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6)))
        return
      }
      if (this.again) continue
      let next = h.clock.now() + h.pollIntervalMs
      try {
        next = Math.min(next, (await this.nextDueAt()) ?? next)
      } catch {}
      this.arm(next)
      if (!this.again) return
    }
  }

  /** The earliest due entry or schedule tick after now (Unix ms), if any. */
  async nextDueAt(): Promise<number | undefined> {
    const now = this.host.clock.now()
    const [[due], tick] = await Promise.all([
      this.host.store.list(keys.duePrefix, { after: keys.dueBefore(now), limit: 1 }),
      this.nextTickAt(),
    ])
    const times = [due && timeOfDueKey(due.key), tick].filter((t): t is number => t !== undefined)
    return times.length ? Math.min(...times) : undefined
  }

  /** The earliest schedule tick after now (Unix ms), if any. */
  async nextTickAt(): Promise<number | undefined> {
    const [tick] = await this.host.store.list(keys.tickPrefix, { after: keys.tickBefore(this.host.clock.now()), limit: 1 })
    return tick && timeOfTickKey(tick.key)
  }

  /** One pass: schedule ticks up to now (they create pending runs), the due index up to now, then the inbox markers. */
  private async pass() {
    const h = this.host
    const now = h.clock.now()
    const lookahead = this.slotLookahead
    this.slotLookahead = false
    this.waitedThisPass.clear()
    this.passSkipped = false
    this.freedInPass = false
    // Until no tick is due: a schedule catching up (`catchup: 'all'`) moves its entry to its next
    // missed tick, later in the listing, so the next page finds it.
    for (let after: string | undefined; this.running; ) {
      const page = await h.store.list(keys.tickPrefix, { before: keys.tickBefore(now), after, limit: PAGE })
      if (page.length === 0) break
      await h.fireTicks(page)
      after = page[page.length - 1]?.key
    }
    // Entries up to one lease ahead, on the first pass of a multi-process engine or on every pass of
    // a single-process one: runs this engine id held in an earlier (dead) incarnation are taken at
    // once instead of after their lease.
    let horizon = h.multiProcess && !this.firstPass ? now : now + h.leaseMs
    if (lookahead) horizon = Math.max(horizon, now + h.slotWaitMs)
    this.firstPass = false
    const all = await this.scan(keys.duePrefix, { before: keys.dueBefore(horizon) }, (entry, got) => this.due(entry, got, now, lookahead))
    // Runs wait for a slot with their next look at most a slot wait ahead: a lookahead pass that went
    // through the whole index saw every one of them.
    const waiting = this.waitedThisPass.size > 0
    this.slotWaiters = lookahead && all && !this.passSkipped ? waiting : this.slotWaiters || waiting
    // A slot let go while this pass deferred runs for one: look again.
    if (this.freedInPass && waiting) {
      this.slotLookahead = true
      this.again = true
    }
    await this.scan(keys.inboxPrefix, {}, (entry, got) => this.inbox(entry, got, now))
  }

  /**
   * Pages through a prefix, reading the run records of a page in one call. Stops when this engine is
   * full. Resolves true when it went through every entry.
   */
  private async scan(
    prefix: string,
    bounds: { before?: string },
    handle: (entry: ListedEntry, got: StoredEntry | undefined) => Promise<void>,
  ): Promise<boolean> {
    const h = this.host
    const runIdOf = prefix === keys.duePrefix ? runIdOfDueKey : (key: string) => key.slice(prefix.length)
    for (let after: string | undefined; ; ) {
      if (!this.running || !h.hasRoom()) return false
      const page = await h.store.list(prefix, { ...bounds, after, limit: PAGE })
      if (page.length === 0) return true
      const records = await h.store.getMany(page.map((e) => keys.run(runIdOf(e.key))))
      for (const i of byPriority(records)) {
        if (!this.running) return false
        await handle(page[i] as ListedEntry, records[i])
      }
      if (page.length < PAGE) return true
      after = page[page.length - 1]?.key
    }
  }

  private decode(runId: string, got: StoredEntry, entry: ListedEntry): Promise<RunRecord | undefined> {
    try {
      return Promise.resolve(this.host.store.decode<RunRecord>(got, keys.run(runId)))
    } catch (error) {
      if (this.host.hooks.has('error')) this.host.hooks.emit('error', { source: 'corrupt-record', error: toError(error), runId })
      return this.host.runs.failCorrupt(runId, error, entry).then(() => undefined)
    }
  }

  private async due(entry: ListedEntry, got: StoredEntry | undefined, now: number, lookahead = false) {
    const h = this.host
    const runId = runIdOfDueKey(entry.key)
    const at = timeOfDueKey(entry.key)
    if (entry.value === 'gc') {
      if (at <= now) await h.runs.collect(runId, entry)
      return
    }
    if (entry.value === 'cascade') {
      if (at <= now) await h.cascade(runId)
      return
    }
    if (h.local(runId)) return
    if (!got) {
      // A run being created on a store without atomic batches writes its due entry before its record:
      // an entry without a record is dropped only once it is well past due (a creation that died).
      if (at < now - h.leaseMs) await h.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    const record = await this.decode(runId, got, entry)
    if (!record || record.deleting) return
    const stale = entry.key !== record.dueKey
    if (TERMINAL.has(record.status)) {
      if (stale) await h.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    const mine = record.owner === h.engineId
    const leaseLive = record.owner !== undefined && (record.leaseUntil ?? 0) > now
    if (leaseLive && !mine && h.multiProcess) {
      // A hint left beside a live owner: the owner sees new signals through the inbox marker.
      if (stale) await h.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    const waitsForSlot = lookahead && record.status === 'pending' && record.pendingReason?.kind === 'concurrency'
    if (at > now && !waitsForSlot && !(record.owner !== undefined && (mine || !h.multiProcess))) return
    await this.take(record, got.version, entry.key)
  }

  private async inbox(entry: ListedEntry, got: StoredEntry | undefined, now: number) {
    const h = this.host
    const runId = entry.key.slice(keys.inboxPrefix.length)
    const local = h.local(runId)
    if (local) return local.signalled()
    const record = got && (await this.decode(runId, got, entry))
    if (!record || TERMINAL.has(record.status)) {
      // Nobody will read these signals: the marker goes (the signals go with the run's retention).
      if (!record?.deleting) await h.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    if (record.deleting) return
    // Held back by flow control until its due entry: its signals wait with it.
    if (record.status === 'pending' && record.pendingReason && record.dueKey && timeOfDueKey(record.dueKey) > now) return
    const leaseLive = record.owner !== undefined && (record.leaseUntil ?? 0) > now
    if (leaseLive && (record.owner !== h.engineId || h.multiProcess)) return
    await this.take(record, (got as StoredEntry).version, undefined)
  }

  private async take(record: RunRecord, version: number, dueKey: string | undefined) {
    const h = this.host
    if (!h.canRun(record)) {
      if (this.unrunnable.get(record.id) !== version) {
        this.unrunnable.set(record.id, version)
        h.log.error(
          `Run "${record.id}" needs workflow "${record.workflowId}" version "${record.workflowVersion}", which this engine does not have; leaving it for an engine that does`,
        )
      }
      return
    }
    this.unrunnable.delete(record.id)
    if (!h.hasRoom()) {
      this.passSkipped = true
      return
    }
    await h.claim(record, version, dueKey)
  }

  /** Renews the leases of the runs executing here, well before they expire; stops those whose lease ran out. */
  private renewLoop() {
    const h = this.host
    const every = Math.max(10, Math.floor(h.leaseMs / 3))
    this.cancelRenew = h.clock.setTimer(() => {
      const now = h.clock.now()
      for (const run of [...h.locals()]) {
        if (run.leaseExpired(every)) continue
        if ((run.record.leaseUntil ?? 0) - now < h.leaseMs - every) void run.renew()
      }
      h.upkeep()
      this.renewLoop()
    }, every)
  }
}
