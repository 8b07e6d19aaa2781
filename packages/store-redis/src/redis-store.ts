import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '@do-sdk/core'
import { DoSdkError, InvalidArgumentError, StoreError } from '@do-sdk/core'
import type { RedisConnectionClientType } from '@keyv/redis'
import KeyvRedis from '@keyv/redis'
import { evalScript, SCRIPTS, type Script } from './scripts.js'

/** How to reach Redis: a URL (the store opens and closes its client) or a client you own. */
export type RedisConnection = { url: string } | { client: RedisConnectionClientType }

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * Isolates this app's keys from other apps on the same Redis: 1 to 64 letters, digits, `_`, `-`
   * or `.`. Keys live under `do:{<namespace>}:`. @default 'default'
   */
  namespace?: string
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

/** Smallest string above every string starting with `prefix`, in byte (code point) order; `undefined` if none. */
const prefixEnd = (prefix: string): string | undefined => {
  const points = Array.from(prefix)
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1)
  }
  return undefined
}
/** Byte order of the UTF-8 encodings: the order Redis sorts members in. */
const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** `ZRANGEBYLEX` bounds of a `list` call. */
const lexRange = (prefix: string, o: ListOptions): [string, string] => {
  let min = prefix === '' ? '-' : `[${prefix}`
  if (o.after !== undefined && byteCompare(o.after, prefix) >= 0) min = `(${o.after}`
  const end = prefixEnd(prefix)
  let max = end === undefined ? '+' : `(${end}`
  if (o.before !== undefined && (end === undefined || byteCompare(o.before, end) < 0)) max = `(${o.before}`
  return [min, max]
}

const toEntry = (value: unknown, version: unknown, expiresAt: unknown): StoredEntry =>
  expiresAt === '' || expiresAt === null || expiresAt === undefined
    ? { value: String(value), version: Number(version) }
    : { value: String(value), version: Number(version), expiresAt: Number(expiresAt) }

/**
 * A Datastore on Redis, for apps running on many machines: `{ multiProcess: true, atomicBatch:
 * true, nativeTtl: true, pubsub: true }`.
 *
 * Each `batch` is one Lua script: every condition is checked and every op applied atomically,
 * against every process. An entry is a hash (value, version, expiry) that Redis expires itself
 * (`PEXPIREAT`); a per-namespace sorted set indexes the keys for ordered listing (`ZRANGEBYLEX`),
 * maintained by the same scripts. `getMany` is one round trip, `now()` is Redis `TIME`, and
 * `publish`/`subscribe` use Redis pub/sub (on a duplicate connection).
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
  const namespace = options.namespace ?? 'default'
  if (!NAMESPACE.test(namespace)) {
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] Invalid namespace ${JSON.stringify(namespace)}: use 1 to 64 letters, digits, "_", "-" or ".".`,
    )
  }
  const base = `do:{${namespace}}:`
  const entryPrefix = `${base}e:`
  const prefixLength = String(entryPrefix.length) // ASCII: bytes = UTF-16 units
  const indexKey = `${base}i`
  const channelKey = (channel: string) => `${base}c:${channel}`
  // Ours to open and close with { url }; the caller's with { client }.
  const client = given ?? (new KeyvRedis(url as string, { throwOnConnectError: true, throwOnErrors: true }).client as unknown as Client)

  const fail = (what: string, error: unknown): never => {
    if (DoSdkError.isInstance(error)) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new StoreError(`[do-sdk] [${NAME}] ${what} failed: ${reason}`, NAME, { cause: error })
  }

  let closed = false
  let opened = false
  let connecting: Promise<void> | undefined
  const ready = async () => {
    if (closed) throw new StoreError(`[do-sdk] [${NAME}] The store is closed.`, NAME)
    // isOpen stays true while node-redis reconnects (commands wait in its queue); false means closed.
    if (client.isOpen) {
      opened = true
      return
    }
    if (opened) throw new StoreError(`[do-sdk] [${NAME}] The Redis client was closed.`, NAME)
    connecting ??= client
      .connect()
      .then(() => {
        opened = true
      })
      .finally(() => {
        connecting = undefined
      })
    await connecting
  }
  const sendCommand = (args: string[]) => client.sendCommand(args)
  /**
   * Sends `args` (a whole `EVALSHA` command when `script` is given) and wraps a failure in a
   * StoreError. `what` names the call in that error; it is a function so the hot path never builds it.
   */
  const exec = async (what: () => string, args: string[], script?: Script): Promise<unknown> => {
    try {
      if (closed || !client.isOpen) await ready()
      else opened = true
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
    const r = (await exec(() => `get of ${JSON.stringify(key)}`, ['HMGET', entryPrefix + key, 'v', 'n', 'x'])) as unknown[]
    return r[1] === null || r[1] === undefined ? undefined : toEntry(r[0], r[1], r[2])
  }

  const getMany = async (keys: string[]): Promise<(StoredEntry | undefined)[]> => {
    if (keys.length === 0) return []
    if (keys.length === 1) return [await get(keys[0] as string)]
    const command = ['EVALSHA', SCRIPTS.getMany.sha, String(keys.length)]
    for (const key of keys) command.push(entryPrefix + key)
    const reply = (await exec(() => `getMany of ${keys.length} keys`, command, SCRIPTS.getMany)) as unknown[][]
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

  return {
    name: NAME,
    capabilities: { multiProcess: true, atomicBatch: true, nativeTtl: true, pubsub: true },
    get,
    getMany,
    async list(prefix: string, opts: ListOptions = {}) {
      const limit = opts.limit === undefined ? -1 : Math.max(0, Math.floor(opts.limit))
      if (limit === 0) return []
      const [min, max] = lexRange(prefix, opts)
      const command = ['EVALSHA', SCRIPTS.list.sha, '1', indexKey, entryPrefix, min, max, String(limit), opts.reverse ? '1' : '0']
      const flat = (await exec(() => `list of ${JSON.stringify(prefix)}`, command, SCRIPTS.list)) as unknown[]
      const out: ListedEntry[] = []
      for (let i = 0; i < flat.length; i += 4) out.push({ key: String(flat[i]), ...toEntry(flat[i + 1], flat[i + 2], flat[i + 3]) })
      return out
    },
    async batch(ops: WriteOp[]): Promise<BatchResult> {
      const n = ops.length
      if (n === 0) return { ok: true, versions: [] }
      // The whole EVALSHA in one array: KEYS are the index then each op's entry key; ARGV is the
      // entry prefix length then 4 strings per op (see BATCH in scripts.ts).
      const command = ['EVALSHA', SCRIPTS.batch.sha, String(n + 1), indexKey]
      for (const op of ops) command.push(entryPrefix + op.key)
      command.push(prefixLength)
      for (const op of ops) {
        const ifVersion = op.ifVersion === undefined ? '' : String(op.ifVersion)
        if (op.op === 'set') command.push('s', ifVersion, op.value, op.expiresAt === undefined ? '' : String(op.expiresAt))
        else command.push(op.op === 'delete' ? 'd' : 'c', ifVersion, '', '')
      }
      const what = () => `batch of ${n} ops on ${JSON.stringify(ops[0]?.key)}${n > 1 ? ' and more' : ''}`
      const reply = (await exec(what, command, SCRIPTS.batch)) as unknown[]
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
      if (closed) return
      closed = true
      const sub = await subscriber?.catch(() => undefined)
      if (sub?.isOpen) sub.destroy()
      // close() waits for queued commands, which never come back from a server that is down.
      if (given === undefined && client.isOpen)
        await ((client as Client & { isReady: boolean }).isReady ? client.close() : client.destroy())
    },
  }
}
