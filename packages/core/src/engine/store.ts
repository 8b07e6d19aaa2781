import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '../datastore/types.js'
import { CorruptRecordError, DoSdkError, StoreError, toError } from '../errors.js'
import type { Serializer } from '../serializer.js'

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

  /** Callers check `dead` before calling the adapter. */
  private guard<T>(what: string, p: Promise<T>): Promise<T> {
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
    if (this.dead) return Promise.reject(new SimulatedCrash())
    return this.guard(
      `get "${key}"`,
      this.call(() => this.ds.get(key)),
    )
  }

  getMany(keys: string[]): Promise<(StoredEntry | undefined)[]> {
    if (this.dead) return Promise.reject(new SimulatedCrash())
    return this.guard(
      'getMany',
      this.call(() => (this.ds.getMany ? this.ds.getMany(keys) : Promise.all(keys.map((k) => this.ds.get(k))))),
    )
  }

  list(prefix: string, options?: ListOptions): Promise<ListedEntry[]> {
    if (this.dead) return Promise.reject(new SimulatedCrash())
    return this.guard(
      `list "${prefix}"`,
      this.call(() => this.ds.list(prefix, options)),
    )
  }

  batch(ops: WriteOp[]): Promise<BatchResult> {
    if (this.dead) return Promise.reject(new SimulatedCrash())
    return this.guard(
      'batch',
      this.call(() => this.ds.batch(ops)),
    )
  }

  /** Runs an adapter call; one that throws instead of rejecting is turned into a rejection. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn()
    } catch (e) {
      return Promise.reject(e)
    }
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
