import { CorruptRecordError, SerializationError } from './errors.js'

/**
 * The one encoding every value takes on its way to the store (step results, state,
 * inputs, signals, `step.store` values), applied on the first run exactly as on replay.
 *
 * It is JSON, with tagged objects `{"$t": tag, "v": …}` for what JSON cannot hold:
 * `undefined` (`u`), `Date` (`D`), `BigInt` (`B`), `Map` (`M`), `Set` (`S`), `Error` (`E`),
 * `NaN`/`±Infinity`/`-0` (`N`), `Uint8Array`/`Buffer` (`U8`), and plain objects that
 * themselves have a `$t` key (`O`). Functions, symbols, cycles and class instances
 * without `toJSON` are refused with a {@link SerializationError} naming the field.
 */
export interface Serializer {
  encode(value: unknown, what?: string): string
  decode(text: string, key?: string): unknown
}

const TAG = '$t'

/** Deeper than this, the fast check gives up and the careful path (which finds cycles and names the field) takes over. */
const MAX_FAST_DEPTH = 64

/**
 * The fast check: true when `value` holds anything plain JSON cannot carry as is (including what
 * must be refused, and nesting too deep to be sure there is no cycle). It builds no path strings
 * and no `seen` set; `toTagged` walks again, carefully, only when it says true.
 */
const needsTagging = (value: unknown, depth: number): boolean => {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return false
    case 'number':
      return !Number.isFinite(value) || Object.is(value, -0)
    case 'object':
      break
    default:
      return true
  }
  if (value === null) return false
  if (depth > MAX_FAST_DEPTH) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (needsTagging(value[i], depth + 1)) return true
    return false
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return true
  for (const key in value) {
    if (key === TAG || needsTagging((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

const encodeError = (err: Error, seen: Set<object>, path: string): unknown => {
  const out: Record<string, unknown> = { name: err.name, message: err.message }
  if (err.stack) out.stack = err.stack
  for (const key of Object.keys(err)) out[key] = (err as unknown as Record<string, unknown>)[key]
  if (err.cause !== undefined) out.cause = err.cause
  return toTagged(out, seen, `${path}`)
}

const toTagged = (value: unknown, seen: Set<object>, path: string): unknown => {
  switch (typeof value) {
    case 'undefined':
      return { [TAG]: 'u' }
    case 'bigint':
      return { [TAG]: 'B', v: value.toString() }
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value
      return { [TAG]: 'N', v: Object.is(value, -0) ? '-0' : String(value) }
    case 'function':
    case 'symbol':
      throw new SerializationError(`Cannot store a ${typeof value} at ${path}`, path)
    case 'string':
    case 'boolean':
      return value
  }
  if (value === null) return null
  const obj = value as object
  if (seen.has(obj)) throw new SerializationError(`Cannot store a circular reference at ${path}`, path)
  seen.add(obj)
  try {
    if (Array.isArray(obj)) return obj.map((item, i) => toTagged(item, seen, `${path}[${i}]`))
    if (obj instanceof Date) return { [TAG]: 'D', v: Number.isNaN(obj.getTime()) ? null : obj.toISOString() }
    if (obj instanceof Map)
      return {
        [TAG]: 'M',
        v: [...obj].map(([k, v], i) => [toTagged(k, seen, `${path}<key ${i}>`), toTagged(v, seen, `${path}.get(${String(k)})`)]),
      }
    if (obj instanceof Set) return { [TAG]: 'S', v: [...obj].map((item, i) => toTagged(item, seen, `${path}<item ${i}>`)) }
    if (obj instanceof Error) return { [TAG]: 'E', v: encodeError(obj, seen, path) }
    if (obj instanceof Uint8Array) return { [TAG]: 'U8', v: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64') }
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null) {
      const toJSON = (obj as { toJSON?: () => unknown }).toJSON
      if (typeof toJSON === 'function') return toTagged(toJSON.call(obj), seen, path)
      const name = (proto?.constructor?.name as string | undefined) ?? 'unknown'
      throw new SerializationError(
        `Cannot store an instance of class ${name} at ${path}: return plain data (or give the class a toJSON method)`,
        path,
      )
    }
    const out: Record<string, unknown> = {}
    for (const key in obj) out[key] = toTagged((obj as Record<string, unknown>)[key], seen, `${path}.${key}`)
    return TAG in out ? { [TAG]: 'O', v: out } : out
  } finally {
    seen.delete(obj)
  }
}

const fromTagged = (value: unknown): unknown => {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(fromTagged)
  const obj = value as Record<string, unknown>
  const tag = obj[TAG]
  if (typeof tag === 'string') {
    const v = obj.v
    switch (tag) {
      case 'u':
        return undefined
      case 'B':
        return BigInt(v as string)
      case 'N':
        return v === '-0' ? -0 : Number(v)
      case 'D':
        return new Date(v === null ? Number.NaN : (v as string))
      case 'M':
        return new Map((v as [unknown, unknown][]).map(([k, x]) => [fromTagged(k), fromTagged(x)]))
      case 'S':
        return new Set((v as unknown[]).map(fromTagged))
      case 'U8':
        return new Uint8Array(Buffer.from(v as string, 'base64'))
      case 'E':
        return decodeError(fromTagged(v) as Record<string, unknown>)
      case 'O':
        return mapObject(v as Record<string, unknown>)
    }
  }
  return mapObject(obj)
}

const mapObject = (obj: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key in obj) out[key] = fromTagged(obj[key])
  return out
}

const decodeError = (fields: Record<string, unknown>): Error => {
  const { name, message, stack, cause, ...rest } = fields
  const err = new Error(String(message ?? ''), cause === undefined ? undefined : { cause })
  Object.defineProperty(err, 'name', { value: String(name ?? 'Error'), writable: true, configurable: true, enumerable: false })
  if (typeof stack === 'string') err.stack = stack
  Object.assign(err, rest)
  return err
}

/** The default serializer: JSON plus tags; plain JSON data takes the fast path both ways. */
export const jsonSerializer: Serializer = {
  encode(value, what = 'value') {
    return needsTagging(value, 0) ? JSON.stringify(toTagged(value, new Set(), what)) : JSON.stringify(value)
  },
  decode(text, key = 'value') {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      throw new CorruptRecordError(`Record "${key}" is not valid JSON (${(cause as Error).message})`, key, { cause })
    }
    return text.includes(`"${TAG}"`) ? fromTagged(parsed) : parsed
  },
}

/** Encodes then decodes: what a value looks like after a trip through the store. */
export const roundTrip = <T>(value: T, serializer: Serializer = jsonSerializer, what?: string): T =>
  serializer.decode(serializer.encode(value, what)) as T
