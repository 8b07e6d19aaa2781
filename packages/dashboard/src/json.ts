/**
 * Stored values decode to more than JSON holds (the engine's serializer keeps Date, BigInt, Map,
 * Set, Error, bytes, NaN and undefined). The dashboard shows them as JSON with the type spelled
 * out, so `JSON.stringify` never throws (BigInt) or shows `{}` (Map) for a real value.
 */
export const toDisplay = (value: unknown, seen: WeakSet<object> = new WeakSet()): unknown => {
  switch (typeof value) {
    case 'bigint':
      return { $bigint: value.toString() }
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? '-0' : String(value) }
    case 'undefined':
      return { $undefined: true }
    case 'function':
    case 'symbol':
      return { $unsupported: typeof value }
    case 'object':
      break
    default:
      return value
  }
  if (value === null) return null
  if (seen.has(value)) return { $cycle: true }
  seen.add(value)
  try {
    if (Array.isArray(value)) return value.map((v) => toDisplay(v, seen))
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? { $date: 'Invalid Date' } : { $date: value.toISOString() }
    if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toDisplay(k, seen), toDisplay(v, seen)]) }
    if (value instanceof Set) return { $set: [...value].map((v) => toDisplay(v, seen)) }
    if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') }
    if (value instanceof Error) return { $error: { name: value.name, message: value.message } }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      // A stored `__proto__` key stays a plain key of the copy, never the copy's prototype.
      Object.defineProperty(out, key, {
        value: toDisplay((value as Record<string, unknown>)[key], seen),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  } finally {
    seen.delete(value)
  }
}
