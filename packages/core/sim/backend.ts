import { memoryStore } from '../src/datastore/memory.js'
import type { BatchResult, Datastore, WriteOp } from '../src/datastore/types.js'
import type { VirtualClock } from '../src/engine/clock.js'
import { StoreError } from '../src/errors.js'
import type { Prng } from './prng.js'

/** What the shared store does wrong, per call. All zero: a perfect store. */
export interface Faults {
  /** The call fails before it reaches the store. */
  fail: number
  /** The batch is applied, then the answer is lost (the caller sees a failure). */
  ambiguous: number
  /** The answer (or the whole call) comes back later, in any order with others. */
  delay: number
  maxDelayMs: number
  /** Batches are applied op by op (a store without atomic batches). */
  nonAtomic: boolean
  /** In a non-atomic batch: the calling process dies after some of its ops. */
  dieInBatch: number
}

export const NO_FAULTS: Faults = { fail: 0, ambiguous: 0, delay: 0, maxDelayMs: 0, nonAtomic: false, dieInBatch: 0 }

/** A process as the store sees it: it can be killed in the middle of a batch. */
export interface Caller {
  readonly name: string
  kill(): void
}

/**
 * One shared in-memory store seen through faulty connections: each engine gets its own view,
 * whose calls may fail, lose their answer after being applied, come back late and out of order, or
 * (non-atomic mode) apply part of a batch before the caller dies. Every journal entry marking a
 * step done that reaches the store is recorded: such a step must never run again.
 */
export class SimBackend {
  readonly inner: Datastore
  /** `runId stepId` of every step whose `done` entry reached the store. */
  readonly committed = new Set<string>()
  private readonly later: { at: number; order: number; run: () => void }[] = []
  private order = 0

  constructor(
    private readonly clock: VirtualClock,
    public faults: Faults,
    private readonly prng: Prng,
    private readonly trace: (line: string) => void,
  ) {
    this.inner = memoryStore({ now: clock.now })
  }

  /** Completes every delayed call that is due, in random order. */
  releaseDue(all = false): number {
    const now = this.clock.now()
    const due = this.later.filter((c) => all || c.at <= now)
    if (due.length === 0) return 0
    for (const c of due) this.later.splice(this.later.indexOf(c), 1)
    for (let i = due.length - 1; i > 0; i--) {
      const j = this.prng.int(0, i)
      ;[due[i], due[j]] = [due[j] as (typeof due)[number], due[i] as (typeof due)[number]]
    }
    for (const c of due) c.run()
    return due.length
  }

  get delayed(): number {
    return this.later.length
  }

  private async applyBatch(ops: WriteOp[], caller: Caller, perfect: boolean): Promise<BatchResult> {
    if (!this.faults.nonAtomic || perfect) {
      const res = await this.inner.batch(ops)
      if (res.ok) this.observe(ops)
      return res
    }
    for (const op of ops) {
      if (op.ifVersion === undefined) continue
      const version = (await this.inner.get(op.key))?.version ?? 0
      if (version !== op.ifVersion) return { ok: false, conflictKey: op.key, actualVersion: version }
    }
    const dieAt = this.prng.chance(this.faults.dieInBatch) ? this.prng.int(0, ops.length - 1) : -1
    const versions: number[] = []
    for (const [i, op] of ops.entries()) {
      if (i === dieAt) {
        this.trace(`${caller.name} dies after ${i} of ${ops.length} ops: ${ops.map((o) => `${o.op} ${o.key}`).join(', ')}`)
        caller.kill()
        throw new StoreError(`[sim] ${caller.name} died in a batch`, 'sim')
      }
      const res = await this.inner.batch([op.op === 'check' ? op : { ...op, ifVersion: undefined }])
      versions.push(res.ok ? (res.versions[0] as number) : 0)
      this.observe([op])
    }
    return { ok: true, versions }
  }

  private observe(ops: WriteOp[]) {
    for (const op of ops) {
      if (op.op !== 'set' || !op.key.startsWith('jrn/')) continue
      const entry = JSON.parse(op.value) as { id: string; status: string }
      if (entry.status === 'done') this.committed.add(`${op.key.slice(4, op.key.indexOf('!'))} ${entry.id}`)
    }
  }

  /** Runs a call through the faults: fail, apply and lose the answer, or answer late. */
  private call<T>(caller: Caller, what: string, apply: () => Promise<T>, write: boolean, perfect: boolean, detail = ''): Promise<T> {
    if (perfect) return apply()
    const f = this.faults
    if (this.prng.chance(f.fail)) {
      this.trace(`${caller.name} ${what}: fails`)
      return Promise.reject(new StoreError(`[sim] ${what} failed`, 'sim'))
    }
    if (write && this.prng.chance(f.ambiguous)) {
      this.trace(`${caller.name} ${what}: applied, answer lost${detail}`)
      return apply().then(() => {
        throw new StoreError(`[sim] ${what}: connection lost after the write`, 'sim')
      })
    }
    if (!this.prng.chance(f.delay)) return apply()
    const at = this.clock.now() + this.prng.int(0, f.maxDelayMs)
    const applyLater = this.prng.chance(0.5)
    this.trace(`${caller.name} ${what}: ${applyLater ? 'sent' : 'answered'} late`)
    const order = this.order++
    if (applyLater)
      return new Promise<T>((resolve, reject) => this.later.push({ at, order, run: () => void apply().then(resolve, reject) }))
    const result = apply()
    result.catch(() => {}) // handed over when released, not unhandled meanwhile
    return new Promise<T>((resolve, reject) => this.later.push({ at, order, run: () => void result.then(resolve, reject) }))
  }

  /** The store as one engine sees it (`perfect`: a connection without faults, for the user's own calls). */
  view(caller: Caller, multiProcess: boolean, perfect = false): Datastore {
    const inner = this.inner
    return {
      name: 'sim',
      capabilities: { multiProcess, atomicBatch: !this.faults.nonAtomic, pubsub: false },
      get: (key) => this.call(caller, `get ${key}`, () => inner.get(key), false, perfect),
      getMany: (keys) =>
        this.call(caller, `getMany ${keys.length}`, () => (inner.getMany as NonNullable<Datastore['getMany']>)(keys), false, perfect),
      list: (prefix, options) => this.call(caller, `list ${prefix}`, () => inner.list(prefix, options), false, perfect),
      batch: (ops) =>
        this.call(
          caller,
          `batch ${ops.length} ops`,
          () => this.applyBatch(ops, caller, perfect),
          true,
          perfect,
          ` (${ops.map((o) => `${o.op} ${o.key}`).join(', ')})`,
        ),
    }
  }
}
