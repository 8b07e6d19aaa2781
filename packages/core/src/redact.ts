/** Field names (exact strings or patterns) whose values are secret. */
export type RedactRule = string | RegExp

export const REDACTED = '[redacted]'

/**
 * Builds a function that returns a copy of a value with every field whose name matches a rule
 * replaced by `'[redacted]'`, at any depth (objects, arrays, Map values). Values without a
 * matching field are returned as they are (no copy).
 */
export const redactor = (rules: readonly RedactRule[] | undefined): (<T>(value: T) => T) => {
  if (!rules || rules.length === 0) return (v) => v
  const names = new Set(rules.filter((r): r is string => typeof r === 'string'))
  const patterns = rules.filter((r): r is RegExp => r instanceof RegExp)
  const secret = (key: string) => names.has(key) || patterns.some((p) => p.test(key))
  const walk = (value: unknown, seen: WeakSet<object>): unknown => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return value
    seen.add(value)
    if (Array.isArray(value)) {
      let changed = false
      const out = value.map((v) => {
        const r = walk(v, seen)
        if (r !== v) changed = true
        return r
      })
      return changed ? out : value
    }
    if (value instanceof Map) {
      let changed = false
      const out = new Map()
      for (const [k, v] of value) {
        const r = typeof k === 'string' && secret(k) ? REDACTED : walk(v, seen)
        if (r !== v) changed = true
        out.set(k, r)
      }
      return changed ? out : value
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return value
    let out: Record<string, unknown> | undefined
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key]
      const r = secret(key) ? REDACTED : walk(v, seen)
      if (r !== v) {
        out ??= { ...(value as Record<string, unknown>) }
        out[key] = r
      }
    }
    return out ?? value
  }
  return (value) => walk(value, new WeakSet()) as typeof value
}
