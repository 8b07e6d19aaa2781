import type { BatchResult, WriteOp } from '@do-sdk/core'
import { InvalidArgumentError } from '@do-sdk/core'
import { encode } from './codec.js'
import { EXCLUSIVE_KEYS } from './schema.js'

/** What the batch function writes for a key (see `do_batch_v2` in schema.ts). */
export const Kind = {
  /** Only read (checks, or a batch whose conditions cannot all hold). */
  None: 0,
  /** Set at the live version + n. */
  SetRelative: 1,
  /** Set at version n (the key was deleted earlier in the batch). */
  SetAbsolute: 2,
  Delete: 3,
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

/** The arguments of one call of the batch function: parallel arrays, one element per row (a distinct key of a batch). */
export interface Rows {
  seg: number[]
  batch: number[]
  key: string[]
  /** The live version the batch's conditions require of the key; -1 when none. */
  req: number[]
  kind: Kind[]
  n: number[]
  val: (string | null)[]
  exp: (number | null)[]
}

export const newRows = (): Rows => ({ seg: [], batch: [], key: [], req: [], kind: [], n: [], val: [], exp: [] })

/** A batch's place in a call: the row of each of its keys. */
export interface Placed {
  ops: WriteOp[]
  /** Row of each key; for a batch of one op, the row number alone. */
  rows: Map<string, number> | number
}

interface KeyState {
  /** The required live version; -1 while no condition asked for one. */
  req: number
  /** Versions still count from the live one (no delete so far in the batch). */
  relative: boolean
  n: number
  kind: Kind
  value: string | null
  expiresAt: number | null
}

const NAME = 'postgres'

const checkOp = (op: WriteOp) => {
  if (typeof op?.key !== 'string' || op.key === '')
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] A batch op needs a non-empty string key, got ${JSON.stringify(op?.key)}.`)
  if (op.op === 'set' && typeof op.value !== 'string')
    throw new InvalidArgumentError(`[do-sdk] [${NAME}] The value of ${JSON.stringify(op.key)} must be a string (core encodes values).`)
  if (op.ifVersion !== undefined && !(Number.isInteger(op.ifVersion) && op.ifVersion >= 0))
    throw new InvalidArgumentError(
      `[do-sdk] [${NAME}] ifVersion of ${JSON.stringify(op.key)} must be an integer >= 0, got ${op.ifVersion}.`,
    )
}

/**
 * Adds the rows of one batch to `rows`, in segment `seg`. Each key's ops are folded into the
 * condition they put on its live version (a condition after a delete in the same batch is decided
 * here, without the server) and its final write. A batch whose conditions contradict each other
 * writes nothing; its rows are still read, so the result can name the first failing condition.
 */
export const addBatch = (rows: Rows, seg: number, batchNo: number, ops: WriteOp[]): Placed => {
  const states = new Map<string, KeyState>()
  let doomed = false
  for (const op of ops) {
    checkOp(op)
    let st = states.get(op.key)
    if (st === undefined) {
      st = { req: -1, relative: true, n: 0, kind: Kind.None, value: null, expiresAt: null }
      states.set(op.key, st)
    }
    if (op.ifVersion !== undefined) {
      if (st.relative) {
        const need = op.ifVersion - st.n
        if (need < 0 || (st.req >= 0 && st.req !== need)) doomed = true
        else st.req = need
      } else if (op.ifVersion !== st.n) doomed = true
    }
    if (op.op === 'set') {
      st.n++
      st.kind = st.relative ? Kind.SetRelative : Kind.SetAbsolute
      st.value = op.value
      st.expiresAt = op.expiresAt ?? null
    } else if (op.op === 'delete') {
      st.relative = false
      st.n = 0
      st.kind = Kind.Delete
      st.value = null
      st.expiresAt = null
    }
  }
  const first = rows.key.length
  const placed = new Map<string, number>()
  for (const [key, st] of states) {
    placed.set(key, rows.key.length)
    rows.seg.push(seg)
    rows.batch.push(batchNo)
    rows.key.push(encode(key))
    rows.req.push(st.req)
    rows.kind.push(doomed ? Kind.None : st.kind)
    rows.n.push(st.n)
    rows.val.push(doomed || st.value === null ? null : encode(st.value))
    rows.exp.push(doomed ? null : st.expiresAt)
  }
  return { ops, rows: ops.length === 1 ? first : placed }
}

/**
 * The rows of one call of the batch function for `batches`, in order. A batch touching a key that an
 * earlier batch of the current segment touched starts a new segment, applied after it (so it sees
 * that batch's writes). A batch that {@link addBatch} refuses is left out: its `placed` entry is
 * undefined and `refused` gets its error.
 */
export const planCall = (
  batches: WriteOp[][],
  refused: (i: number, error: unknown) => void,
): { rows: Rows; placed: (Placed | undefined)[] } => {
  const rows = newRows()
  const placed: (Placed | undefined)[] = []
  let seg = 0
  let segKeys = new Set<string>()
  for (const [i, ops] of batches.entries()) {
    if (ops.some((op) => segKeys.has(op.key))) {
      seg++
      segKeys = new Set()
    }
    try {
      placed.push(addBatch(rows, seg, i, ops))
      for (const op of ops) segKeys.add(op.key)
    } catch (error) {
      placed.push(undefined)
      refused(i, error)
    }
  }
  return { rows, placed }
}

/** Whether a call locks its namespace rather than each of its keys (`p_exclusive`, see `do_batch_v2`). */
const exclusive = (keys: string[]) => keys.length > EXCLUSIVE_KEYS && new Set(keys).size > EXCLUSIVE_KEYS

/** The parameters of the batch function's call (`statements().batch`) for namespace `ns`. */
export const callParams = (ns: string, rows: Rows): unknown[] => [
  ns,
  exclusive(rows.key),
  rows.seg,
  rows.batch,
  rows.key,
  rows.req,
  rows.kind,
  rows.n,
  rows.val,
  rows.exp,
]

/**
 * The result of a placed batch, given the live version each row found (`found[row]`): the ops
 * replayed against those versions. The server applied the batch exactly when this says `ok`.
 */
export const resultOf = ({ ops, rows }: Placed, found: number[]): BatchResult => {
  if (typeof rows === 'number') {
    const op = ops[0] as WriteOp
    const v = found[rows] as number
    if (op.ifVersion !== undefined && op.ifVersion !== v) return { ok: false, conflictKey: op.key, actualVersion: v }
    return { ok: true, versions: [op.op === 'set' ? v + 1 : 0] }
  }
  const current = new Map<string, number>()
  const versions = new Array<number>(ops.length)
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as WriteOp
    let v = current.get(op.key)
    if (v === undefined) v = found[rows.get(op.key) as number] as number
    if (op.ifVersion !== undefined && op.ifVersion !== v) return { ok: false, conflictKey: op.key, actualVersion: v }
    if (op.op === 'set') v++
    else if (op.op === 'delete') v = 0
    versions[i] = op.op === 'set' ? v : 0
    current.set(op.key, v)
  }
  return { ok: true, versions }
}
