import type { ListedEntry, WriteOp } from '../datastore/types.js'
import { CorruptRecordError, DoSdkError, EngineStateError, RunNotFoundError } from '../errors.js'
import type { Logger } from '../logger.js'
import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import type { Clock } from './clock.js'
import type { RandomSource } from './execution-deps.js'
import { CANCEL_SIGNAL } from './inbox.js'
import { keys } from './keys.js'
import {
  compact,
  type JournalEntry,
  type ParentRef,
  type PendingReason,
  type RunRecord,
  type SignalRecord,
  TERMINAL,
  toStoredError,
} from './records.js'
import type { EngineStore } from './store.js'
import {
  batchOf,
  type Change,
  cascaded,
  claimed,
  corruptReplacement,
  created,
  deferred,
  deleting,
  ended,
  type NewRun,
  removedOps,
  retried,
  type SlotClaim,
  signalOps,
  type TransitionContext,
} from './transitions.js'

const PAGE = 1_000

/** A record as read, with the version its compare-and-set needs. */
export interface ReadRun {
  record: RunRecord
  version: number
}

/**
 * What the engine does to runs it does not execute: claim, signal, cancel, retry, remove. Each is
 * a transition (`transitions.ts`) applied with compare-and-set on the record's version; a lost
 * race is read again and decided again, never applied blindly.
 */
export class Runs {
  private signalSeq = 0

  constructor(
    private readonly store: EngineStore,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly log: Logger,
    private readonly ctxBase: Omit<TransitionContext, 'now'>,
  ) {}

  ctx(): TransitionContext {
    return { ...this.ctxBase, now: this.clock.now() }
  }

  /** The run's record, or undefined. A record that cannot be decoded throws {@link CorruptRecordError}. */
  async read(runId: string): Promise<ReadRun | undefined> {
    const got = await this.store.get(keys.run(runId))
    if (!got) return undefined
    return { record: this.store.decode<RunRecord>(got, keys.run(runId)), version: got.version }
  }

  async mustRead(runId: string): Promise<ReadRun> {
    const got = await this.read(runId)
    if (!got) throw new RunNotFoundError(runId)
    return got
  }

  /** Applies a change decided on a record read at `version`; false (with the key whose condition failed) when something moved meanwhile. */
  async apply(c: Change, version: number, extra: WriteOp[] = []): Promise<{ ok: boolean; version: number; conflictKey?: string }> {
    const encoded = this.store.encode(compact(c.record), `run "${c.record.id}"`)
    const ops = batchOf(c, encoded, version, extra)
    const res = await this.store.batch(ops)
    if (!res.ok) return { ok: false, version: 0, conflictKey: res.conflictKey }
    return { ok: true, version: res.versions[c.put.length + extra.length] as number }
  }

  /** The state a run of `wf` starts with, parsed and scrubbed as stored. */
  async initialState(wf: Workflow, input: unknown): Promise<unknown> {
    return this.store.scrub(await parseWith(wf.stateSchema, wf.initialState(input) ?? {}, `initial state of workflow "${wf.id}"`))
  }

  /**
   * The writes that create a run: its record only if absent (a trigger with an existing id changes
   * nothing), with its due and index entries. `runHere`: created running, leased to this engine.
   * `extra`: what flow control and schedules add (a priority, the schedule, a later start and why).
   */
  async create(
    wf: Workflow,
    input: unknown,
    runId: string,
    parent: ParentRef | undefined,
    runHere: boolean,
    extra: Omit<NewRun, keyof RunRecord & ('id' | 'workflowId' | 'workflowVersion' | 'input' | 'state' | 'nonce' | 'parent')> & {
      dueAt?: number
      /** The time flow control admitted the run at: its `createdAt`, so a rate limit's window and the runs' times agree. */
      at?: number
    } = {},
  ) {
    const { dueAt, at, ...more } = extra
    const fields: NewRun = {
      id: runId,
      workflowId: wf.id,
      workflowVersion: wf.version,
      input: this.store.scrub(input),
      state: await this.initialState(wf, input),
      nonce: this.nonce(),
      parent,
      ...more,
    }
    const c = created(fields, at === undefined ? this.ctx() : { ...this.ctx(), now: at }, runHere, dueAt)
    const ops: WriteOp[] = batchOf(c, this.store.encode(compact(c.record), `run "${runId}"`), 0)
    return { ops, record: c.record }
  }

  /**
   * Claims a run for this engine, taking `slots` (concurrency) in the same batch; resolves the
   * claimed record and its version, or the key whose condition failed (the record: another engine
   * won; a slot: another run took it).
   */
  async claim(
    record: RunRecord,
    version: number,
    foundDueKey?: string,
    slots: SlotClaim[] = [],
  ): Promise<ReadRun | { conflictKey: string }> {
    const c = claimed(record, this.ctx(), foundDueKey, slots)
    const res = await this.apply(c, version)
    return res.ok ? { record: c.record, version: res.version } : { conflictKey: res.conflictKey ?? keys.run(record.id) }
  }

  /** Flow control holds a run back (`deferred`); false when the record moved meanwhile. */
  async defer(record: RunRecord, version: number, reason: PendingReason, foundDueKey?: string): Promise<boolean> {
    return (await this.apply(deferred(record, this.ctx(), reason, foundDueKey), version)).ok
  }

  /**
   * Buffers a signal for a run. Resolves false when the run has finished (nothing is written).
   * `check` sees the run's record first and may throw to refuse the signal (nothing is written).
   * @throws RunNotFoundError when no such run exists
   */
  async signal(
    runId: string,
    name: string,
    payload: unknown,
    check?: (record: RunRecord) => Promise<void>,
  ): Promise<{ stored: boolean; record: RunRecord }> {
    for (;;) {
      const { record, version } = await this.mustRead(runId)
      await check?.(record)
      if (TERMINAL.has(record.status)) return { stored: false, record }
      const now = this.clock.now()
      const sig: SignalRecord = { name, payload: this.store.scrub(payload), sentAt: now }
      const encoded = this.store.encode(sig, `payload of signal "${name}"`)
      // The origin makes the key unique even when two sends share a time and a counter (a restarted process).
      const origin = `${this.ctxBase.engineId}.${this.random.uuid().slice(0, 8)}`
      // Fenced by the record's version: a run that ended since it was read is read again (and refused),
      // so `true` always means the run had not finished when the signal was stored.
      const res = await this.store.batch([
        { op: 'check', key: keys.run(runId), ifVersion: version },
        ...signalOps(runId, record.nonce, now, ++this.signalSeq, origin, encoded),
      ])
      if (res.ok) return { stored: true, record }
    }
  }

  /** The child runs an `invoke` step of this run started. */
  async childrenOf(record: RunRecord): Promise<string[]> {
    const ids = new Set<string>()
    for (const e of await this.store.listAll(keys.journalPrefix(record.id, record.nonce))) {
      const entry = this.store.decode<JournalEntry>(e, e.key)
      if (entry.childId) ids.add(entry.childId)
    }
    return [...ids]
  }

  /**
   * Cancels a run nobody executes (pending, sleeping, waiting, or its owner's lease ran out) by
   * compare-and-set; a run owned elsewhere gets a `$cancel` signal that its owner acts on.
   * Resolves what happened (`cascade`: the caller cancels its children next, see {@link Runs.cascade}).
   */
  async cancel(
    runId: string,
    reason: string,
    isLocal: (runId: string) => boolean,
  ): Promise<{ status: 'cancelled' | 'requested' | 'finished'; record: RunRecord; cascade?: boolean }> {
    for (;;) {
      const { record, version } = await this.mustRead(runId)
      if (TERMINAL.has(record.status)) return { status: 'finished', record }
      const now = this.clock.now()
      const leased =
        record.owner !== undefined && (record.leaseUntil ?? 0) > now && !(record.owner === this.ctxBase.engineId && !isLocal(runId))
      if (leased) {
        await this.signal(runId, CANCEL_SIGNAL, { reason })
        return { status: 'requested', record }
      }
      const children = await this.childrenOf(record)
      const c = ended(record, this.ctx(), {
        status: 'cancelled',
        error: { name: 'CancelledError', message: reason, code: 'ERR_CANCELLED' },
        cascade: children.length > 0,
      })
      if ((await this.apply(c, version)).ok) return { status: 'cancelled', record: c.record, cascade: children.length > 0 }
    }
  }

  /** Cancels the children of a cancelled run, then lets retention start (its `cascade` due entry becomes `gc`). */
  async cascade(runId: string, cancel: (runId: string, reason: string) => Promise<void>): Promise<void> {
    const got = await this.read(runId)
    if (!got) return
    for (const child of await this.childrenOf(got.record)) {
      await cancel(child, `parent run "${runId}" was cancelled`).catch((e) => {
        if (!DoSdkError.hasCode(e, 'ERR_RUN_NOT_FOUND')) throw e
      })
    }
    await this.apply(cascaded(got.record), got.version)
  }

  /** `engine.retry`: a failed run goes again from the step failure that ended it. */
  async retry(runId: string, retryChild: (childId: string) => Promise<void>): Promise<RunRecord> {
    const { record, version } = await this.mustRead(runId)
    if (record.status !== 'failed') throw new EngineStateError(`Run "${runId}" is ${record.status}; only failed runs can be retried`)
    if (record.deleting) throw new EngineStateError(`Run "${runId}" is being removed (its retention ran out); it cannot be retried`)
    // A failure that came from a child run: the child goes again first, and this run waits for it again.
    if (record.failedSeq !== undefined) {
      const failed = await this.store.get(keys.journal(runId, record.nonce, record.failedSeq))
      const entry = failed && this.store.decode<JournalEntry>(failed, keys.journal(runId, record.nonce, record.failedSeq))
      if (entry?.kind === 'invoke' && entry.childId) {
        const child = await this.read(entry.childId)
        if (child?.record.status === 'failed') await retryChild(entry.childId)
      }
    }
    const c = retried(record, this.ctx())
    if (!(await this.apply(c, version)).ok) throw new EngineStateError(`Run "${runId}" changed while being retried; try again`)
    return c.record
  }

  /**
   * Removes a finished run past its retention. The record is marked first (fenced: a retry that
   * lands meanwhile wins and nothing is removed), then the journal and signals of its incarnation
   * go, then the record with its due and index entries. Stopped anywhere, the `gc` due entry is
   * still there and the next pass goes on.
   */
  async collect(runId: string, entry: ListedEntry): Promise<void> {
    let got: ReadRun | undefined
    try {
      got = await this.read(runId)
    } catch (error) {
      if (!DoSdkError.hasCode(error, 'ERR_CORRUPT_RECORD')) throw error
      const raw = await this.store.get(keys.run(runId))
      if (raw)
        await this.store.batch([
          { op: 'delete', key: keys.run(runId), ifVersion: raw.version },
          { op: 'delete', key: entry.key },
        ])
      return
    }
    if (!got) {
      await this.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    let { record, version } = got
    if (!TERMINAL.has(record.status)) {
      // Retried since: this entry is stale (the record points elsewhere).
      if (record.dueKey !== entry.key) await this.store.batch([{ op: 'delete', key: entry.key, ifVersion: entry.version }])
      return
    }
    if (!record.deleting) {
      const c = deleting(record)
      const res = await this.apply(c, version)
      if (!res.ok) return
      record = c.record
      version = res.version
    }
    for (const prefix of [keys.journalPrefix(runId, record.nonce), keys.signalPrefix(runId, record.nonce)]) {
      for (;;) {
        const page = await this.store.list(prefix, { limit: PAGE })
        if (page.length === 0) break
        await this.store.batch(page.map((e) => ({ op: 'delete', key: e.key })))
      }
    }
    await this.store.batch([
      { op: 'delete', key: keys.inbox(runId) },
      { op: 'delete', key: keys.run(runId), ifVersion: version },
      ...removedOps(record),
    ])
  }

  /** A run record that cannot be decoded fails that run with a clear error; the others go on. */
  async failCorrupt(runId: string, error: unknown, entry: ListedEntry): Promise<void> {
    const err = DoSdkError.isInstance(error)
      ? error
      : new CorruptRecordError(`Run "${runId}" record is unreadable`, keys.run(runId), { cause: error })
    this.log.error(`Run "${runId}" failed: its record is unreadable (${err.message})`)
    const raw = await this.store.get(keys.run(runId))
    if (!raw) return
    const c = corruptReplacement(runId, toStoredError(err, false), this.ctx())
    await this.apply(c, raw.version, [{ op: 'delete', key: entry.key }])
  }

  /** A fresh nonce for a new incarnation of a run id. */
  nonce(): string {
    return this.random.uuid().slice(0, 8)
  }
}
