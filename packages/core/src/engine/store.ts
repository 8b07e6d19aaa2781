import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '../datastore/types.js'
import { CorruptRecordError, DoSdkError, StoreError, toError } from '../errors.js'
import { jsonSerializer, type Serializer } from '../serializer.js'
import { compact, type JournalEntry } from './records.js'

/** Thrown into everything once a test engine "crashes": nothing more reaches the store. */
export class SimulatedCrash extends Error {
  constructor(message = 'simulated crash') {
    super(message)
    this.name = 'SimulatedCrash'
  }
}

/**
 * The engine's door to the Datastore: wraps adapter failures as {@link StoreError} (a failure is
 * never "absent"), decodes records (a bad one is a {@link CorruptRecordError} naming the key),
 * and refuses every call once the engine is dead (crash injection).
 */
export class EngineStore {
  dead = false

  constructor(
    readonly ds: Datastore,
    readonly serializer: Serializer,
    /** Replaces secret fields of user values before they are stored or shown (see `redact`). */
    readonly scrub: <T>(value: T) => T = (v) => v,
  ) {}

  /** Runs an adapter call: refused once dead, and a call that throws instead of rejecting is rejected. */
  guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.dead) return Promise.reject(new SimulatedCrash())
    let p: Promise<T>
    try {
      p = fn()
    } catch (e) {
      p = Promise.reject(e)
    }
    return p.then(
      (v) => {
        if (this.dead) throw new SimulatedCrash()
        return v
      },
      (e) => {
        if (DoSdkError.isInstance(e) || e instanceof SimulatedCrash) throw e
        throw new StoreError(`[${this.ds.name}] ${what} failed: ${toError(e).message}`, this.ds.name, { cause: e })
      },
    )
  }

  get(key: string): Promise<StoredEntry | undefined> {
    return this.guarded(`get "${key}"`, () => this.ds.get(key))
  }

  getMany(keys: string[]): Promise<(StoredEntry | undefined)[]> {
    return this.guarded('getMany', () => (this.ds.getMany ? this.ds.getMany(keys) : Promise.all(keys.map((k) => this.ds.get(k)))))
  }

  list(prefix: string, options?: ListOptions): Promise<ListedEntry[]> {
    return this.guarded(`list "${prefix}"`, () => this.ds.list(prefix, options))
  }

  /** How many entries start with `prefix` (the adapter's `count`, or paged `list` calls). */
  count(prefix: string, options: { after?: string; before?: string } = {}): Promise<number> {
    return this.guarded(`count "${prefix}"`, async () => {
      if (this.ds.count) return this.ds.count(prefix, options)
      let n = 0
      for (let after = options.after; ; ) {
        const page = await this.ds.list(prefix, { after, before: options.before, limit: 1_000 })
        n += page.length
        if (page.length < 1_000) return n
        after = page[page.length - 1]?.key
      }
    })
  }

  batch(ops: WriteOp[]): Promise<BatchResult> {
    return this.guarded('batch', () => this.ds.batch(ops))
  }

  /** Every entry under a prefix, a page at a time (a long journal never comes in one call). */
  async listAll(prefix: string, page = 1_000): Promise<ListedEntry[]> {
    const out: ListedEntry[] = []
    for (let after: string | undefined; ; ) {
      const got = await this.list(prefix, { after, limit: page })
      out.push(...got)
      if (got.length < page) return out
      after = got[got.length - 1]?.key
    }
  }

  /**
   * Encodes a journal entry. With the default serializer every field but `value` is plain JSON; an
   * already encoded value (the step's result, see `Execution.settle`) is spliced in, not encoded again.
   */
  encodeEntry(entry: JournalEntry, encodedValue: string | undefined): string {
    if (this.serializer === jsonSerializer) {
      // Every field but `value` is plain JSON, and JSON.stringify leaves out `undefined` fields.
      if (encodedValue !== undefined) {
        // `value` left out for the encoded one (set back at once: no copy of the entry per step).
        const { value } = entry
        entry.value = undefined
        const json = JSON.stringify(entry)
        entry.value = value
        return `${json.slice(0, -1)},"value":${encodedValue}}`
      }
      if (entry.value === undefined) return JSON.stringify(entry)
    }
    return this.encode(compact(entry), `step "${entry.id}"`)
  }

  encode(value: unknown, what: string): string {
    return this.serializer.encode(value, what)
  }

  decode<T>(entry: { value: string }, key: string): T {
    try {
      return this.serializer.decode(entry.value, key) as T
    } catch (e) {
      if (DoSdkError.isInstance(e)) throw e
      throw new CorruptRecordError(`Record "${key}" cannot be decoded: ${toError(e).message}`, key, { cause: e })
    }
  }
}
