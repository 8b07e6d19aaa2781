import type { BatchResult, WriteOp } from '@do-sdk/core'

/**
 * The write of one key that a batch leaves, once all of its conditions held.
 * - `put`: the new version is known (the key was read, or deleted earlier in the batch).
 * - `bump`: the key was not read (one unconditional `set` of it in the batch); SQL computes the
 *   version from the stored row (`+ 1`, or 1 when absent or expired) and returns it for `versions[op]`.
 * - `delete`: the key is removed.
 */
export type KeyWrite =
  | { kind: 'put'; key: string; value: string; expiresAt: number | null; version: number }
  | { kind: 'bump'; key: string; value: string; expiresAt: number | null; op: number }
  | { kind: 'delete'; key: string }

/** What a batch does: a conflict (nothing to write), or its writes and per-op versions. */
export type BatchPlan = { ok: false; result: BatchResult & { ok: false } } | { ok: true; writes: KeyWrite[]; versions: number[] }

/**
 * Keys whose current version a batch must read before writing: those with an `ifVersion` op and
 * those written more than once (their versions chain). Every other key has exactly one
 * unconditional op, whose version SQL computes in the write itself. First-seen order.
 */
export const keysToRead = (ops: WriteOp[]): string[] => {
  const reads: string[] = []
  const n = ops.length
  if (n === 1) {
    const only = ops[0] as WriteOp
    if (only.ifVersion !== undefined) reads.push(only.key)
    return reads
  }
  if (n <= 16) {
    for (let i = 0; i < n; i++) {
      const op = ops[i] as WriteOp
      let needed = op.ifVersion !== undefined
      let seenBefore = false
      for (let j = 0; j < n && !(needed && seenBefore); j++) {
        if (j === i || (ops[j] as WriteOp).key !== op.key) continue
        if (j < i) seenBefore = true
        needed = true
      }
      if (needed && !seenBefore) reads.push(op.key)
    }
    return reads
  }
  const counts = new Map<string, boolean>()
  for (const op of ops) {
    const seen = counts.get(op.key)
    if (seen === undefined) counts.set(op.key, op.ifVersion !== undefined)
    else if (!seen) counts.set(op.key, true)
  }
  for (const [key, needed] of counts) if (needed) reads.push(key)
  return reads
}

/**
 * Checks a batch's conditions against `current` (the versions of {@link keysToRead}, 0 when absent
 * or expired) as each earlier op of the batch leaves them, and computes the final write of each
 * key: inside a transaction only a key's last state matters. Updates `current` as it goes.
 */
export const planBatch = (ops: WriteOp[], current: Map<string, number>): BatchPlan => {
  const versions: number[] = new Array(ops.length)
  const writes: KeyWrite[] = []
  // Index in `writes` of each read key's write, so a later op of the same key replaces it.
  let slots: Map<string, number> | undefined
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as WriteOp
    const version = current.get(op.key)
    if (version === undefined) {
      // Not read: the key's only op, unconditional.
      if (op.op === 'set') {
        writes.push({ kind: 'bump', key: op.key, value: op.value, expiresAt: op.expiresAt ?? null, op: i })
        versions[i] = 0 // filled in from the write
      } else {
        if (op.op === 'delete') writes.push({ kind: 'delete', key: op.key })
        versions[i] = 0
      }
      continue
    }
    if (op.ifVersion !== undefined && op.ifVersion !== version) {
      return { ok: false, result: { ok: false, conflictKey: op.key, actualVersion: version } }
    }
    let write: KeyWrite
    if (op.op === 'set') {
      current.set(op.key, version + 1)
      versions[i] = version + 1
      write = { kind: 'put', key: op.key, value: op.value, expiresAt: op.expiresAt ?? null, version: version + 1 }
    } else {
      versions[i] = 0
      if (op.op === 'check') continue
      current.set(op.key, 0)
      write = { kind: 'delete', key: op.key }
    }
    slots ??= new Map()
    const slot = slots.get(op.key)
    if (slot === undefined) {
      slots.set(op.key, writes.length)
      writes.push(write)
    } else writes[slot] = write
  }
  return { ok: true, writes, versions }
}
