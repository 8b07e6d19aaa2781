import type { Datastore } from '../datastore/types.js'

/** The pub/sub channel the engines on one store share. */
const CHANNEL = 'wake'
/** The message saying concurrency slots were let go (run ids never start with `$`: see `assertId`). */
export const SLOTS_FREED = '$slots'
/** The message saying work became due somewhere (a run created, retried, forked; an engine stopped). */
export const WORK_DUE = '*'

let channels = 0

/**
 * Wake-ups between the engines of one store, where the store has pub/sub (Redis, PostgreSQL; the
 * others poll). A message is `*` (work is due), `$slots` (concurrency slots were let go) or a run id
 * (that run got a signal or a cancel), sent as `<message> <sender>` so an engine skips its own.
 */
export class WakeChannel {
  /** Signs this engine's messages (engines of one process, or restarted ones, may share an engine id). */
  private readonly sender = `${process.pid}.${++channels}.${Math.random().toString(36).slice(2, 8)}`

  constructor(private readonly ds: Datastore) {}

  /** Tells the other engines; never throws (a lost wake-up costs a poll interval, nothing more). */
  publish(message: string) {
    if (this.ds.capabilities.pubsub && this.ds.publish) this.ds.publish(CHANNEL, `${message} ${this.sender}`).catch(() => {})
  }

  /** Listens to the other engines' messages; resolves the unsubscribe, if the store has pub/sub. */
  async subscribe(on: (message: string) => void): Promise<(() => Promise<void>) | undefined> {
    if (!this.ds.capabilities.pubsub || !this.ds.subscribe) return undefined
    return this.ds.subscribe(CHANNEL, (raw) => {
      // Ids never hold a space; a message without a sender comes from an older engine.
      const space = raw.indexOf(' ')
      if (space >= 0 && raw.slice(space + 1) === this.sender) return
      on(space >= 0 ? raw.slice(0, space) : raw)
    })
  }
}
