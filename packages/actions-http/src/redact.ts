/** What replaces a secret in outputs, errors and logs. */
export const REDACTED = '[redacted]'

/** Replaces every occurrence of the given secrets in strings and in JSON-like values. */
export interface Redactor {
  text(value: string): string
  json(value: unknown): unknown
}

const identity: Redactor = { text: (v) => v, json: (v) => v }

/** A redactor for these secrets (empty ones are ignored; longest first, so a secret inside another is covered). */
export const createRedactor = (secrets: readonly string[]): Redactor => {
  const list = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length)
  if (list.length === 0) return identity
  const text = (value: string) => {
    let out = value
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
    return out
  }
  const json = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value)
    if (Array.isArray(value)) return value.map(json)
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), json(v)]))
    }
    return value
  }
  return { text, json }
}
