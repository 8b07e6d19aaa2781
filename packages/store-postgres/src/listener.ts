/** The parts of a node-postgres `Client` the listener uses. */
export interface ListenClient {
  connect(): Promise<unknown>
  query(sql: string): Promise<unknown>
  end(): Promise<void>
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown
  on(event: 'error' | 'end', listener: (error?: unknown) => void): unknown
}

/** Options of {@link createListener}. */
export interface ListenerOptions {
  /** A new, unconnected session client (never from a transaction-mode pooler: LISTEN needs a session). */
  open(): Promise<ListenClient>
  /** The PostgreSQL channel of this schema and namespace (an identifier of lowercase hex). */
  channel: string
  /** First wait before reconnecting, in ms; doubles up to `maxBackoffMs`. @default 100 */
  backoffMs?: number
  /** @default 5_000 */
  maxBackoffMs?: number
}

/** Encodes a do-sdk channel and message as one NOTIFY payload. */
export const payloadOf = (channel: string, message: string) => JSON.stringify([channel, message])

/**
 * One dedicated session connection that LISTENs on the namespace's channel and hands each
 * notification to the subscribers of its do-sdk channel (carried in the payload). Opened on the
 * first `subscribe`; when the connection fails it reconnects with backoff (unref'd timers) and
 * LISTENs again. Notifications sent while it is down are lost: subscribers must not depend on every
 * message (the engine also polls).
 */
export const createListener = (options: ListenerOptions) => {
  const handlers = new Map<string, Set<(message: string) => void>>()
  let client: ListenClient | undefined
  let connecting: Promise<void> | undefined
  let retry: NodeJS.Timeout | undefined
  let backoff = options.backoffMs ?? 100
  let closed = false
  /** Reconnections so far (for tests and logs). */
  let reconnects = 0

  const dispatch = (payload: string | undefined) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(payload ?? '')
    } catch {
      return // not ours
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') return
    for (const fn of handlers.get(parsed[0]) ?? []) {
      try {
        fn(parsed[1])
      } catch {}
    }
  }

  const scheduleReconnect = () => {
    if (closed || retry || handlers.size === 0) return
    retry = setTimeout(() => {
      retry = undefined
      reconnects++
      ensure().catch(scheduleReconnect)
    }, backoff)
    retry.unref()
    backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5_000)
  }

  const lost = (c: ListenClient) => {
    if (client !== c) return
    client = undefined
    c.end().catch(() => {})
    scheduleReconnect()
  }

  const connect = async () => {
    const c = await options.open()
    c.on('error', () => lost(c))
    c.on('end', () => lost(c))
    c.on('notification', (m) => {
      if (m.channel === options.channel) dispatch(m.payload)
    })
    try {
      await c.connect()
      await c.query(`LISTEN "${options.channel}"`)
    } catch (error) {
      c.end().catch(() => {})
      throw error
    }
    if (closed) {
      await c.end().catch(() => {})
      return
    }
    client = c
    backoff = options.backoffMs ?? 100
  }

  const ensure = (): Promise<void> => {
    if (client || closed) return Promise.resolve()
    connecting ??= connect().finally(() => {
      connecting = undefined
    })
    return connecting
  }

  return {
    /** Adds a handler and resolves once the LISTEN connection is up; the result removes the handler. */
    async subscribe(channel: string, fn: (message: string) => void): Promise<() => Promise<void>> {
      let set = handlers.get(channel)
      if (!set) handlers.set(channel, (set = new Set()))
      const handler = (message: string) => fn(message)
      set.add(handler)
      try {
        await ensure()
      } catch (error) {
        set.delete(handler)
        if (set.size === 0) handlers.delete(channel)
        throw error
      }
      return async () => {
        const current = handlers.get(channel)
        current?.delete(handler)
        if (current?.size === 0) handlers.delete(channel)
      }
    },
    /** Ends the LISTEN connection and stops reconnecting. */
    async close() {
      closed = true
      if (retry) clearTimeout(retry)
      retry = undefined
      handlers.clear()
      await connecting?.catch(() => {})
      const c = client
      client = undefined
      await c?.end().catch(() => {})
    },
    /** Reconnections made since the listener opened. */
    reconnects: () => reconnects,
    /** The session connection, while it is up (tests break it to check the reconnect). */
    connection: () => client,
  }
}
