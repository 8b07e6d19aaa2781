import { Cron } from 'croner'
import { InvalidArgumentError } from '../errors.js'

/**
 * Tick times of a schedule: a cron expression read in an IANA time zone (through croner, see
 * docs/guides/scheduling.md for why croner), or a fixed interval from an anchor. Both directions,
 * so a schedule back from downtime finds its latest missed tick in one call.
 */
export interface TickTimes {
  /** The first tick strictly after `after` (Unix ms), or undefined when there is none. */
  next(after: number): number | undefined
  /** The last tick at or before `at` (Unix ms), or undefined when there is none. */
  prev(at: number): number | undefined
}

/** What a schedule's times are made of. */
export interface TickSpec {
  cron?: string
  timezone?: string
  every?: number
  anchor?: number
}

// Parsing a pattern costs more than evaluating it, and many schedules share one (`0 * * * *`).
const cache = new Map<string, Cron>()
const CACHE_MAX = 1_000

const cronOf = (pattern: string, timezone: string | undefined): Cron => {
  const id = `${timezone ?? ''} ${pattern}`
  let c = cache.get(id)
  if (!c) {
    try {
      // 5 fields (minutes) or 6 (seconds first); day-of-month and day-of-week combine with OR, as in Vixie cron.
      c = new Cron(pattern, { timezone, mode: '5-or-6-parts', paused: true })
    } catch (error) {
      throw new InvalidArgumentError(`Invalid cron expression ${JSON.stringify(pattern)}: ${(error as Error).message}`, { cause: error })
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
    cache.set(id, c)
  }
  return c
}

/** Checks a time zone name (Intl knows it), so a typo fails when the schedule is made, not at its first tick. */
export const assertTimezone = (timezone: unknown): string => {
  if (typeof timezone !== 'string' || timezone.length === 0) throw new InvalidArgumentError(`Invalid time zone ${JSON.stringify(timezone)}`)
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone })
  } catch {
    throw new InvalidArgumentError(`Unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as "Europe/Berlin")`)
  }
  return timezone
}

/** The tick times of a spec. @throws InvalidArgumentError for a bad cron expression or time zone */
export const tickTimes = (spec: TickSpec): TickTimes => {
  if (spec.cron !== undefined) {
    if (spec.timezone !== undefined) assertTimezone(spec.timezone)
    const c = cronOf(spec.cron, spec.timezone)
    return {
      next: (after) => c.nextRun(new Date(after))?.getTime(),
      // previousRuns looks strictly before its date: one ms later includes `at` itself.
      prev: (at) => c.previousRuns(1, new Date(at + 1))[0]?.getTime(),
    }
  }
  const every = spec.every as number
  const anchor = spec.anchor ?? 0
  return {
    next: (after) => (after < anchor ? anchor : anchor + (Math.floor((after - anchor) / every) + 1) * every),
    prev: (at) => (at < anchor ? undefined : anchor + Math.floor((at - anchor) / every) * every),
  }
}
