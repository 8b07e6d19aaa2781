/**
 * The store kit: small helpers every Datastore adapter needs and would otherwise rewrite (key
 * ranges, error wrapping, option checks, opening a connection once, a lock, an expiry sweeper).
 * Exported from `@do-sdk/core` for adapters, ours and yours.
 */
import { DoSdkError, InvalidArgumentError, StoreError } from '../errors.js'
import type { WriteOp } from './types.js'

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order
 * (the order of UTF-8 bytes, which SQLite's BINARY collation and Redis `ZRANGEBYLEX` use);
 * `undefined` when there is none (the prefix is empty or all U+10FFFF). `key >= prefix AND key <
 * prefixEnd(prefix)` is the prefix as an index range, with no pattern characters (`LIKE 'p%'`
 * reads `%` and `_` in keys as wildcards).
 *
 * @example
 * ```ts
 * prefixEnd('run/') // 'run0'
 * ```
 */
export const prefixEnd = (prefix: string): string | undefined => {
  const points = Array.from(prefix)
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number
    // U+D800–U+DFFF are not code points of well-formed text: the successor of U+D7FF is U+E000.
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1)
  }
  return undefined
}

/**
 * Compares two strings in code point order (negative, 0, positive), the byte order of their UTF-8
 * encodings. JavaScript's `<` compares UTF-16 units, which puts U+FFFF after U+10000.
 */
export const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number
    const y = b.codePointAt(i) as number
    if (x !== y) return x < y ? -1 : 1
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/**
 * What an adapter throws for a failure of `what`: `error` itself when it is already a do-sdk error
 * (never wrapped twice), else a {@link StoreError} `[do-sdk] [<store>] <what> failed: <reason>`
 * with `error` as its `cause`.
 *
 * @example
 * ```ts
 * try { return await db.query(sql) } catch (error) { throw storeError('sqlite', `get of "${key}"`, error) }
 * ```
 */
export const storeError = (store: string, what: string, error: unknown): DoSdkError => {
  if (DoSdkError.isInstance(error)) return error
  const reason = error instanceof Error ? error.message : String(error)
  return new StoreError(`[do-sdk] [${store}] ${what} failed: ${reason}`, store, { cause: error })
}

/** Names a batch in an error: `batch of 3 ops on "run/a" and 1 more key`. */
export const describeBatch = (ops: readonly WriteOp[]): string => {
  const keys = new Set(ops.map((op) => op.key)).size
  const more = keys > 1 ? ` and ${keys - 1} more ${keys === 2 ? 'key' : 'keys'}` : ''
  return `batch of ${ops.length} ${ops.length === 1 ? 'op' : 'ops'} on ${JSON.stringify(ops[0]?.key)}${more}`
}

/** Rules of {@link namespaceOption} beyond "a well-formed string". */
export interface NamespaceRules {
  /** The namespace when the option is `undefined`. */
  default: string
  /** A pattern the namespace must match, e.g. `/^[A-Za-z0-9_.-]{1,64}$/` for names that go into keys. */
  pattern?: RegExp
  /** What the pattern allows, for the error message, e.g. `1 to 64 letters, digits, "_", "-" or "."`. */
  allowed?: string
}

/** A lone UTF-16 surrogate: not text, stored by SQLite and Redis as U+FFFD, so two such names would collide. */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Checks an adapter's `namespace` option and returns the namespace to use. Refuses (with an
 * {@link InvalidArgumentError} naming the store) what is not a string, a string that is not
 * well-formed UTF-16 (a lone surrogate is stored as U+FFFD, so two different names would share
 * one namespace), and a string not matching `rules.pattern`.
 *
 * @example
 * ```ts
 * const ns = namespaceOption('redis', options.namespace, { default: 'default', pattern: /^[A-Za-z0-9_.-]{1,64}$/, allowed: '1 to 64 letters, digits, "_", "-" or "."' })
 * ```
 */
export const namespaceOption = (store: string, value: unknown, rules: NamespaceRules): string => {
  if (value === undefined) return rules.default
  const invalid = (why: string) => new InvalidArgumentError(`[do-sdk] [${store}] Invalid namespace ${describeValue(value)}: ${why}.`)
  if (typeof value !== 'string') throw invalid('it must be a string')
  if (LONE_SURROGATE.test(value)) throw invalid('it contains a lone UTF-16 surrogate, which cannot be stored as text')
  if (rules.pattern && !rules.pattern.test(value)) throw invalid(`use ${rules.allowed ?? `a name matching ${rules.pattern}`}`)
  return value
}

const describeValue = (value: unknown) => {
  if (typeof value !== 'string') return `(${value === null ? 'null' : typeof value})`
  // JSON.stringify escapes lone surrogates (\ud800), so the message shows what was given.
  return JSON.stringify(value)
}

/** A lock: `fn`s given to it run one at a time, in call order, whether earlier ones resolve or reject. */
export type PromiseLock = <T>(fn: () => T | Promise<T>) => Promise<T>

/**
 * A lock for an asynchronous section (a transaction on one connection, a read-check-write): each
 * call runs `fn` after every earlier call has settled, and returns `fn`'s outcome.
 *
 * @example
 * ```ts
 * const exclusive = promiseLock()
 * await exclusive(async () => { await q('BEGIN'); …; await q('COMMIT') })
 * ```
 */
export const promiseLock = (): PromiseLock => {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => T | Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn)
    tail = run.catch(() => {})
    return run
  }
}

/** A connection (or other resource) opened on first use, once; see {@link lazyResource}. */
export interface LazyResource<T> {
  /** The resource once opened, until `close()`; lets a hot path skip an `await`. */
  readonly value: T | undefined
  /** True once `close()` was called. */
  readonly closed: boolean
  /**
   * The resource, opening it on the first call. Concurrent callers share one attempt; a failed
   * attempt rejects them all and the next call tries again (a disk or a server may come back).
   * Rejects with the `closedError` once closed.
   */
  get(): Promise<T>
  /** Marks the resource closed (every later `get` rejects), then releases it if it was opened or is opening. Idempotent. */
  close(): Promise<void>
}

/** Options of {@link lazyResource}. */
export interface LazyResourceOptions<T> {
  /** Opens the resource. Its rejection reaches the callers of `get` as is: wrap it there if needed. */
  open(): Promise<T>
  /** Releases an opened resource on `close()` (also one that finished opening after `close()` was called). */
  release?(value: T): Promise<void> | void
  /** The error `get` rejects with once closed, e.g. a StoreError "The store is closed". */
  closedError(): Error
}

/**
 * Opens a resource lazily, once, and closes it once: the `opening` / `opened` / `closed` states an
 * adapter otherwise tracks by hand.
 *
 * @example
 * ```ts
 * const db = lazyResource({
 *   open: () => openDatabase(path),
 *   release: (conn) => conn.close(),
 *   closedError: () => new StoreError('[do-sdk] [sqlite] The store is closed.', 'sqlite'),
 * })
 * const conn = db.value ?? (await db.get())
 * ```
 */
export const lazyResource = <T>(options: LazyResourceOptions<T>): LazyResource<T> => {
  let opening: Promise<T> | undefined
  let value: T | undefined
  let closed = false
  return {
    get value() {
      return value
    },
    get closed() {
      return closed
    },
    get() {
      if (closed) return Promise.reject(options.closedError())
      opening ??= options.open().then(
        (opened) => {
          if (!closed) value = opened
          return opened
        },
        (error: unknown) => {
          opening = undefined
          throw error
        },
      )
      return opening
    },
    async close() {
      if (closed) return
      closed = true
      const pending = opening
      opening = undefined
      value = undefined
      if (!pending || !options.release) return
      const opened = await pending.then(
        (v) => ({ v }),
        () => undefined, // never opened: nothing to release
      )
      if (opened) await options.release(opened.v)
    },
  }
}

/** A periodic job removing expired entries; see {@link expirySweeper}. */
export interface ExpirySweeper {
  /**
   * Runs one sweep now (or joins the one running) and resolves with what it removed. Rejects
   * with the sweep's error, unlike the periodic runs, whose errors are passed to `onError`.
   */
  run(): Promise<number>
  /** Stops the periodic runs; a sweep in progress finishes. */
  stop(): void
}

/** Options of {@link expirySweeper}. */
export interface ExpirySweeperOptions {
  /** Time between the end of one periodic sweep and the start of the next, in ms; 0 runs none (only `run()`). */
  intervalMs: number
  /** Removes expired entries (in small batches, so it never holds a lock for long) and resolves with how many it removed. */
  sweep(): Promise<number>
  /** Receives the error of a failed periodic sweep (best effort: the next one tries again). @default ignore it */
  onError?(error: unknown): void
}

/** Node's timers overflow above 2^31 - 1 ms (~24.8 days) and fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Runs `sweep` every `intervalMs`, never two at once, on an unref'd timer (a sweeper alone does
 * not keep the process alive). Expired entries are already absent for every read: the sweep only
 * gives their storage back.
 */
export const expirySweeper = (options: ExpirySweeperOptions): ExpirySweeper => {
  let running: Promise<number> | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const run = () => {
    running ??= options.sweep().finally(() => {
      running = undefined
    })
    return running
  }
  const schedule = () => {
    if (stopped || !(options.intervalMs > 0)) return
    timer = setTimeout(
      () => {
        run()
          .catch((error: unknown) => options.onError?.(error))
          .finally(schedule)
      },
      Math.min(options.intervalMs, MAX_TIMER_MS),
    )
    timer.unref?.()
  }
  schedule()
  return {
    run,
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
