import { z } from 'zod'

/** RFC 9110 token: what a header name may be made of. */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A header value may not carry CR, LF or NUL (header injection). */
export const HEADER_VALUE = /^[^\r\n\0]*$/

/** A `name → value` header map, validated (names are tokens, values have no CR/LF/NUL). */
export const headerMapSchema = z.record(
  z.string().regex(HEADER_NAME, 'must be a valid header name'),
  z.string().regex(HEADER_VALUE, 'must not contain CR, LF or NUL'),
  { error: (issue) => (issue.code === 'invalid_key' ? 'must be a valid header name (an RFC 9110 token)' : undefined) },
)

/**
 * Headers an action input may not set: the connection is ours to manage (framing, hop-by-hop),
 * and credentials belong in the `auth` option, because action input is journaled in the store.
 */
export const RESERVED_INPUT_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-connection',
  'authorization',
  'proxy-authorization',
])

/** Lowercases names; later maps override earlier ones. */
export const mergeHeaders = (...maps: (Record<string, string> | undefined)[]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const map of maps) for (const [k, v] of Object.entries(map ?? {})) out[k.toLowerCase()] = v
  return out
}

/** Response headers as a plain object: lowercase names, a list when the server sent a header several times. */
export const responseHeaders = (
  raw: Record<string, string | string[] | undefined>,
  include: boolean | readonly string[],
  redact: (value: string) => string,
): Record<string, string | string[]> | undefined => {
  if (include === false) return undefined
  const wanted = include === true ? undefined : new Set(include.map((h) => h.toLowerCase()))
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || (wanted && !wanted.has(name.toLowerCase()))) continue
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(redact) : redact(value)
  }
  return out
}
