import { InvalidArgumentError } from './errors.js'

/** Milliseconds, or a string like `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'3d'`, `'2w'`, `'1h30m'`. */
export type Duration = number | `${number}${DurationUnit}` | (string & {})
type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const WHOLE = /^(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$/
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g

/** Parses a {@link Duration} to milliseconds; throws an {@link InvalidArgumentError} naming `what`. */
export const toMs = (value: Duration, what = 'duration'): number => {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
  } else if (typeof value === 'string') {
    const text = value.trim()
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
    if (WHOLE.test(text)) {
      let total = 0
      for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number)
      return Math.round(total)
    }
  }
  throw new InvalidArgumentError(`Invalid ${what}: ${JSON.stringify(value)} (expected ms >= 0 or a string like "30s", "5m", "1h", "3d")`)
}
