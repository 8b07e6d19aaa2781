/** Formatting of times and durations for the tables. */

const pad = (n: number) => String(n).padStart(2, '0')

/** A local date and time, to the second: `2025-01-31 14:05:09`. */
export const when = (ms: number | undefined): string => {
  if (ms === undefined) return '—'
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** A duration in the largest units that matter: `850 ms`, `12.4 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`. */
export const duration = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 0) ms = 0
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`
  const hours = Math.floor(m / 60)
  if (hours < 48) return `${hours} h ${m % 60} min`
  return `${Math.floor(hours / 24)} d ${hours % 24} h`
}

/** How long ago (or from now): `5 s ago`, `in 3 min 0 s`. */
export const relative = (ms: number | undefined, now = Date.now()): string => {
  if (ms === undefined) return '—'
  return ms <= now ? `${duration(now - ms)} ago` : `in ${duration(ms - now)}`
}

/** Run statuses that will not change any more (without a retry). */
export const TERMINAL = new Set(['completed', 'failed', 'cancelled'])
