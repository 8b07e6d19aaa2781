import { randomUUID } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { BatchResult, Datastore, ListedEntry, ListOptions, StoredEntry, WriteOp } from '@do-sdk/core'
import { CorruptRecordError, InvalidArgumentError, StoreError } from '@do-sdk/core'

/** Options of {@link jsonFileStore}. */
export interface JsonFileStoreOptions {
  /** The JSON file holding every entry (created on the first write). */
  path: string
}

type Entries = Map<string, StoredEntry>

/**
 * A Datastore kept in memory and saved to one JSON file after every batch: small, durable, one
 * process. Each batch writes a new file and renames it over the old one, so a crash leaves the old
 * file or the new one, never half of each: `atomicBatch: true`.
 */
export const jsonFileStore = ({ path }: JsonFileStoreOptions): Datastore => {
  if (!path) throw new InvalidArgumentError('[do-sdk] [json-file] Missing required option "path".')
  const fail = (what: string, error: unknown): never => {
    throw new StoreError(`[do-sdk] [json-file] ${what} failed (${path}): ${(error as Error).message}`, 'json-file', { cause: error })
  }

  let loaded: Promise<Entries> | undefined
  const load = async (): Promise<Entries> => {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
      return fail('reading', error)
    }
    try {
      return new Map(Object.entries(JSON.parse(text) as Record<string, StoredEntry>))
    } catch (error) {
      throw new CorruptRecordError(`[do-sdk] [json-file] ${path} is not a JSON object of entries`, path, { cause: error })
    }
  }
  const entries = () => {
    loaded ??= load().catch((error) => {
      loaded = undefined
      throw error
    })
    return loaded
  }
  const live = (e: StoredEntry | undefined) => (e && (e.expiresAt === undefined || e.expiresAt > Date.now()) ? { ...e } : undefined)

  // One batch at a time: each one reads, checks and saves the whole map.
  let tail: Promise<unknown> = Promise.resolve()

  return {
    name: 'json-file',
    capabilities: { multiProcess: false, atomicBatch: true, nativeTtl: false, pubsub: false },
    async get(key) {
      return live((await entries()).get(key))
    },
    async list(prefix: string, { after, before, limit = Number.POSITIVE_INFINITY, reverse = false }: ListOptions = {}) {
      const map = await entries()
      const keys = [...map.keys()]
        .filter((k) => k.startsWith(prefix) && (after === undefined || k > after) && (before === undefined || k < before))
        .sort()
      if (reverse) keys.reverse()
      const out: ListedEntry[] = []
      for (const key of keys) {
        if (out.length >= limit) break
        const e = live(map.get(key))
        if (e) out.push({ key, ...e })
      }
      return out
    },
    batch(ops: WriteOp[]): Promise<BatchResult> {
      const run = tail.then(async (): Promise<BatchResult> => {
        const next: Entries = new Map(await entries())
        const versions: number[] = []
        for (const op of ops) {
          const current = live(next.get(op.key))?.version ?? 0
          if (op.ifVersion !== undefined && op.ifVersion !== current) return { ok: false, conflictKey: op.key, actualVersion: current }
          if (op.op === 'set') {
            next.set(op.key, { value: op.value, version: current + 1, ...(op.expiresAt === undefined ? {} : { expiresAt: op.expiresAt }) })
            versions.push(current + 1)
          } else {
            if (op.op === 'delete') next.delete(op.key)
            versions.push(0)
          }
        }
        const temp = `${path}.${randomUUID()}.tmp`
        try {
          await writeFile(temp, JSON.stringify(Object.fromEntries(next)))
          await rename(temp, path)
        } catch (error) {
          fail('saving', error)
        }
        loaded = Promise.resolve(next)
        return { ok: true, versions }
      })
      tail = run.catch(() => {})
      return run
    },
  }
}
