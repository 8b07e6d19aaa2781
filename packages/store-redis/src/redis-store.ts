import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '@do-sdk/core'
import { describeBatch, expirySweeper, InvalidArgumentError, lazyResource, namespaceOption, StoreError, storeError } from '@do-sdk/core'
import type { RedisConnectionClientType } from '@keyv/redis'
import KeyvRedis from '@keyv/redis'
import { countEntries, type Exec, LIST_PAGE, listEntries, type NamespaceKeys, sweepIndex, toEntry } from './listing.js'
import { evalScript, SCRIPTS } from './scripts.js'

/** How to reach Redis: a URL (the store opens and closes its client) or a client you own. */
export type RedisConnection = { url: string } | { client: RedisConnectionClientType }

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * Isolates this app's keys from other apps on the same Redis: 1 to 64 letters, digits, `_`, `-`
   * or `.`. Keys live under `do:{<namespace>}:`. @default 'default'
   */
  namespace?: string
  /**
   * How often the index members of entries Redis has expired are removed, in ms (Redis drops the
   * entries themselves); 0 turns it off (`count` and `list` still remove those they meet).
   * @default 60_000
   */
  sweepIntervalMs?: number
}

/** The store's internal hooks, not part of the Datastore contract (tests use them). */
export interface RedisStoreInternals {
  /** Removes the index members of every expired entry now; resolves with how many. Does nothing before the client is connected. */
  sweepExpired(): Promise<number>
}

/** The parts of a node-redis client the store uses. */
interface Client {
  isOpen: boolean
  connect(): Promise<unknown>
  close(): Promise<void>
  destroy(): void
  sendCommand(args: string[]): Promise<unknown>
  duplicate(): Client
  on(event: 'error', listener: (error: unknown) => void): unknown
  subscribe(channel: string, listener: (message: string) => void): Promise<void>
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void>
}

const NAME = 'redis'
const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/

/**
 * A Datastore on Redis, for apps running on many machines: `{ multiProcess: true, atomicBatch:
 * true, pubsub: true }`.
 *
 * Each `batch` is one Lua script: every condition is checked and every op applied atomically,
 * against every process. An entry is a hash (value, version, expiry) that Redis expires itself
 * (`PEXPIREAT`); a per-namespace sorted set indexes the keys for ordered listing (`ZRANGEBYLEX`),
 * maintained by the same scripts, and another scores the keys by expiry, so that the index members
 * of expired entries are removed too (every `sweepIntervalMs`, and before each `count`).
 * `list` reads the index in pages of 500 per script call (a long listing never holds Redis for
 * long), `count` is `ZLEXCOUNT` on the index, `getMany` is one round trip, `now()` is Redis
 * `TIME`, and `publish`/`subscribe` use Redis pub/sub (on a duplicate connection). Every script
 * declares every key it touches, all in the namespace's `{<namespace>}` hash slot.
 *
 * Built on `@keyv/redis`: with `{ url }` the store opens a client through it (reconnecting with
 * backoff; commands issued while disconnected wait and are sent on reconnect) and closes it on
 * `close()`. With `{ client }` it uses your node-redis client, connects it if needed, and never
 * closes it.
 *
 * @example
 * ```ts
 * const store = redisStore({ url: 'redis://localhost:6379' }, { namespace: 'billing' })
 * ```
 */
export const redisStore = (connection: RedisConnection, options: RedisStoreOptions = {}): Datastore => {
  const url = (connection as { url?: unknown })?.url
  const given = (connection as { client?: unknown })?.client as Client | undefined
  if (given === undefined && (typeof url !== 'string' || url === '')) {
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] Missing required option "url" (or "client").`)
  }
  if (given !== undefined && typeof given.sendCommand !== 'function') {
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] Option "client" must be a node-redis client (createClient from "@keyv/redis" or "redis").`,
    )
  }
  const namespace = namespaceOption(NAME, options.namespace, {
    default: 'default',
    pattern: NAMESPACE,
    allowed: '1 to 64 letters, digits, "_", "-" or "."',
  })
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000
  if (typeof sweepIntervalMs !== 'number' || !Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] Option "sweepIntervalMs" must be a number of ms >= 0, got ${String(sweepIntervalMs)}.`,
    )
  }
  const base = `do:{${namespace}}:`
  const keys: NamespaceKeys = { index: `${base}i`, expiry: `${base}x`, entry: `${base}e:` }
  const prefixLength = String(keys.entry.length) // ASCII: bytes = UTF-16 units
  const channelKey = (channel: string) => `${base}c:${channel}`
  // Ours to open and close with { url }; the caller's with { client }.
  const client = given ?? (new KeyvRedis(url as string, { throwOnConnectError: true, throwOnErrors: true }).client as unknown as Client)

  const fail = (what: string, error: unknown): never => {
    throw storeError(NAME, what, error)
  }

  // Connected once; isOpen stays true while node-redis reconnects (commands wait in its queue),
  // false once the client was closed.
  const connected = lazyResource({
    open: async () => {
      if (!client.isOpen) await client.connect()
      return client
    },
    closedError: () => new StoreError(`[do-sdk] [${NAME}] The store is closed.`, NAME),
  })
  const ready = async () => {
    await connected.get()
    if (!client.isOpen) throw new StoreError(`[do-sdk] [${NAME}] The Redis client was closed.`, NAME)
  }
  const sendCommand = (args: string[]) => client.sendCommand(args)
  /**
   * Sends `args` (a whole `EVALSHA` command when `script` is given) and wraps a failure in a
   * StoreError. `what` names the call in that error; it is a function so the hot path never builds it.
   */
  const exec: Exec = async (what, args, script) => {
    try {
      if (connected.value === undefined || !client.isOpen) await ready()
      return await (script === undefined ? client.sendCommand(args) : evalScript(sendCommand, script, args))
    } catch (error) {
      return fail(what(), error)
    }
  }
  const send = (what: string, args: string[]) => exec(() => what, args)

  /**
   * One entry: a plain HMGET, no script. Redis drops a hash once its TTL (`PEXPIREAT ceil(x) - 1`)
   * has passed, that is exactly when `x <= now` on the Redis clock, so a hash it returns is live.
   */
  const get = async (key: string): Promise<StoredEntry | undefined> => {
    const r = (await exec(() => `get of ${JSON.stringify(key)}`, ['HMGET', keys.entry + key, 'v', 'n', 'x'])) as unknown[]
    return r[1] === null || r[1] === undefined ? undefined : toEntry(r[0], r[1], r[2])
  }

  const getMany = async (list: string[]): Promise<(StoredEntry | undefined)[]> => {
    if (list.length === 0) return []
    if (list.length === 1) return [await get(list[0] as string)]
    const command = ['EVALSHA', SCRIPTS.getMany.sha, String(list.length)]
    for (const key of list) command.push(keys.entry + key)
    const reply = (await exec(() => `getMany of ${list.length} keys`, command, SCRIPTS.getMany)) as unknown[][]
    return reply.map((r) => (r.length === 0 ? undefined : toEntry(r[0], r[1], r[2])))
  }

  let subscriber: Promise<Client> | undefined
  const subscriberClient = () => {
    subscriber ??= (async () => {
      await ready()
      const sub = client.duplicate()
      sub.on('error', () => {}) // reconnects on its own; an unheard 'error' event would crash the process
      await sub.connect()
      return sub
    })().catch((error) => {
      subscriber = undefined
      return fail('opening the pub/sub connection', error)
    })
    return subscriber
  }

  // Never connects on its own: a store that was never used has nothing to sweep.
  const sweeper = expirySweeper({
    intervalMs: sweepIntervalMs,
    sweep: async () => (connected.value === undefined ? 0 : sweepIndex(exec, keys)),
  })

  const store: Datastore = {
    name: NAME,
    capabilities: { multiProcess: true, atomicBatch: true, pubsub: true },
    get,
    getMany,
    list: (prefix: string, opts: ListOptions = {}): Promise<ListedEntry[]> => listEntries(exec, keys, LIST_PAGE, prefix, opts),
    /**
     * The live entries whose key starts with `prefix`, within `after`/`before` (exclusive):
     * `ZLEXCOUNT` on the index, after removing the index members of entries that expired (found
     * through the expiry set), so it matches what `list` returns. Not counted right: entries Redis
     * evicted (run it with `noeviction`) and entries written with an expiry by a version before
     * the expiry set, until a `list` passes over them.
     */
    count: (prefix: string, opts: Pick<ListOptions, 'after' | 'before'> = {}) => countEntries(exec, keys, prefix, opts),
    async batch(ops: WriteOp[]): Promise<BatchResult> {
      const n = ops.length
      if (n === 0) return { ok: true, versions: [] }
      // The whole EVALSHA in one array: KEYS are the index, the expiry set, then each op's entry
      // key; ARGV is the entry prefix length then 4 strings per op (see BATCH in scripts.ts).
      const command = ['EVALSHA', SCRIPTS.batch.sha, String(n + 2), keys.index, keys.expiry]
      for (const op of ops) command.push(keys.entry + op.key)
      command.push(prefixLength)
      for (const op of ops) {
        const ifVersion = op.ifVersion === undefined ? '' : String(op.ifVersion)
        if (op.op === 'set') command.push('s', ifVersion, op.value, op.expiresAt === undefined ? '' : String(op.expiresAt))
        else command.push(op.op === 'delete' ? 'd' : 'c', ifVersion, '', '')
      }
      const reply = (await exec(() => describeBatch(ops), command, SCRIPTS.batch)) as unknown[]
      if (Number(reply[0]) !== 1)
        return { ok: false, conflictKey: (ops[Number(reply[1]) - 1] as WriteOp).key, actualVersion: Number(reply[2]) }
      const versions = new Array<number>(n)
      for (let i = 0; i < n; i++) versions[i] = Number(reply[i + 1])
      return { ok: true, versions }
    },
    async publish(channel, message) {
      await send(`publish on ${JSON.stringify(channel)}`, ['PUBLISH', channelKey(channel), message])
    },
    async subscribe(channel, onMessage) {
      const sub = await subscriberClient()
      const listener = (message: string) => onMessage(message)
      try {
        await sub.subscribe(channelKey(channel), listener)
      } catch (error) {
        fail(`subscribe to ${JSON.stringify(channel)}`, error)
      }
      return async () => {
        if (sub.isOpen)
          await sub.unsubscribe(channelKey(channel), listener).catch((error) => fail(`unsubscribe from ${JSON.stringify(channel)}`, error))
      }
    },
    async now() {
      const [seconds, micros] = (await send('TIME', ['TIME'])) as [string, string]
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    },
    async close() {
      if (connected.closed) return
      sweeper.stop()
      await connected.close()
      const sub = await subscriber?.catch(() => undefined)
      if (sub?.isOpen) sub.destroy()
      // close() waits for queued commands, which never come back from a server that is down.
      if (given === undefined && client.isOpen)
        await ((client as Client & { isReady: boolean }).isReady ? client.close() : client.destroy())
    },
  }
  const internals: RedisStoreInternals = { sweepExpired: sweeper.run }
  Object.defineProperty(store, 'sweepExpired', { value: internals.sweepExpired, enumerable: false })
  return store
}
