// Shared helpers of the docs tests (docs/**.md name these tests in `<!-- test: … -->` comments).
import type { Datastore, Engine, HookEvents, HookName, Logger, WriteOp } from '../../src/index.js'

/** A promise the test opens by hand. */
export const gate = () => {
  let open!: () => void
  const wait = new Promise<void>((r) => {
    open = r
  })
  return { wait, open }
}

/** Resolves with the next event of `name` that matches `pick`. */
export const nextEvent = <N extends HookName>(engine: Pick<Engine, 'hooks'>, name: N, pick: (e: HookEvents[N]) => boolean = () => true) =>
  new Promise<HookEvents[N]>((resolve) => {
    const off = engine.hooks.on(name, (e) => {
      if (!pick(e)) return
      off()
      resolve(e)
    })
  })

/** A logger that keeps every line. */
export const captureLogger = () => {
  const lines: { level: keyof Logger; message: string }[] = []
  const at = (level: keyof Logger) => (message: string) => {
    lines.push({ level, message })
  }
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { logger, lines, at: (level: keyof Logger) => lines.filter((l) => l.level === level).map((l) => l.message) }
}

/**
 * A Datastore that forwards to `inner`, keeps every batch it was sent, can be switched off (every call
 * rejects, as an unreachable store does), and lets a test act before a batch is forwarded.
 */
export const recordingStore = (inner: Datastore) => {
  const batches: WriteOp[][] = []
  const control = {
    batches,
    down: false,
    /** Called with each batch before it is forwarded. */
    beforeBatch: undefined as undefined | ((ops: WriteOp[]) => void | Promise<void>),
  }
  const fail = () => Promise.reject(new Error('connection refused'))
  const store: Datastore = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    get: (key) => (control.down ? fail() : inner.get(key)),
    list: (prefix, options) => (control.down ? fail() : inner.list(prefix, options)),
    getMany: inner.getMany && ((keys) => (control.down ? fail() : (inner.getMany as NonNullable<Datastore['getMany']>)(keys))),
    count: inner.count && ((prefix, o) => (control.down ? fail() : (inner.count as NonNullable<Datastore['count']>)(prefix, o))),
    async batch(ops) {
      if (control.down) return fail()
      await control.beforeBatch?.(ops)
      batches.push(ops)
      return inner.batch(ops)
    },
  }
  return { store, control }
}

/** The keys a batch writes (`set`) or deletes. */
export const keysOf = (ops: WriteOp[], op: 'set' | 'delete') => ops.filter((o) => o.op === op).map((o) => o.key)
