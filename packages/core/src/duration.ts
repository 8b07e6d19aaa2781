import { InvalidArgumentError } from './errors.js'

/** A unit of a {@link Duration} string: milliseconds, seconds, minutes, hours, days, weeks. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w'

/** Every run of units in descending order (`w d h m s ms`), each a `${number}${unit}` part. */
type Parts<U extends readonly string[]> = U extends readonly [infer H extends string, ...infer R extends string[]]
  ? `${number}${H}` | `${number}${H}${Parts<R>}` | Parts<R>
  : never

/**
 * Milliseconds (a number >= 0), or a string of one or more `<number><unit>` parts, largest unit first:
 * `'500ms'`, `'30s'`, `'5m'`, `'1.5h'`, `'3d'`, `'2w'`, `'1h30m'`, `'1d12h'`.
 *
 * A misspelt string (`'3 dayz'`, `'5 minutes'`) does not compile. A string only known at run time (an
 * environment variable, a config file) is not a `Duration`: convert it with {@link parseDuration},
 * which throws a clear error where it is read rather than where it is first used.
 */
export type Duration = number | Parts<['w', 'd', 'h', 'm', 's', 'ms']>

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const WHOLE = /^(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$/
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g

/**
 * Parses a duration to milliseconds; throws an {@link InvalidArgumentError} naming `what`. Accepts a
 * plain `string` too (a digits-only string is milliseconds; parts may come in any order and be
 * separated by spaces), so it also converts strings read at run time.
 */
export const toMs = (value: Duration | string, what = 'duration'): number => {
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

/**
 * A duration known only at run time (an environment variable, a config value) as milliseconds, which
 * every option that takes a {@link Duration} accepts. Throws an {@link InvalidArgumentError} on a
 * malformed value, naming `what`.
 *
 * @example
 * ```ts
 * const reminder = parseDuration(process.env.REMINDER_DELAY ?? '1d', 'REMINDER_DELAY')
 * await step.sleep(reminder)
 * ```
 */
export const parseDuration = (value: string | number, what = 'duration'): number => toMs(value, what)
