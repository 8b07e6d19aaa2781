import { z } from 'zod'

/**
 * zod drops an own `__proto__` key while parsing an object or a record, silently: a column named so in
 * `values` or `where` would vanish between the caller and the SQL (a `where` could lose a condition). It
 * is refused instead, at its path, before zod sees the value.
 */
export const PROTO_KEY_MESSAGE = 'the key "__proto__" is refused (it would be dropped silently, or change an object\'s prototype)'

/** Paths of every own `__proto__` key in a value made of plain objects and arrays. */
export const protoKeyPaths = (value: unknown): (string | number)[][] => {
  const found: (string | number)[][] = []
  const seen = new Set<object>()
  const stack: [unknown, (string | number)[]][] = [[value, []]]
  while (stack.length > 0) {
    const [current, path] = stack.pop() as [unknown, (string | number)[]]
    if (current === null || typeof current !== 'object' || seen.has(current)) continue
    seen.add(current)
    if (Array.isArray(current)) {
      current.forEach((item, i) => {
        stack.push([item, [...path, i]])
      })
      continue
    }
    for (const key of Object.keys(current)) {
      if (key === '__proto__') found.push([...path, key])
      else stack.push([(current as Record<string, unknown>)[key], [...path, key]])
    }
  }
  return found
}

/** `schema`, after a check of the raw value that refuses own `__proto__` keys (see {@link PROTO_KEY_MESSAGE}). */
export const refusingProtoKeys = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    for (const path of protoKeyPaths(value)) ctx.addIssue({ code: 'custom', message: PROTO_KEY_MESSAGE, path, input: value })
    return value
  }, schema)
