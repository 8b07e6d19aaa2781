// Plain-text formatting: markdown tables (readable in a terminal, pasteable into docs).
import { median } from './measure.js'

export const table = (headers: string[], rows: string[][]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n')
}

/** Three significant digits, no exponent. */
export const sig = (x: number): string => {
  if (!Number.isFinite(x)) return 'n/a'
  if (x === 0) return '0'
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))))
  return x.toFixed(Math.min(digits, 6))
}

export const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a')

/** A ratio as `2.1×` (two significant digits under 10, whole numbers above). */
export const times = (x: number): string => {
  if (!Number.isFinite(x)) return 'n/a'
  if (x >= 100) return `${Math.round(x).toLocaleString('en-US')}×`
  if (x >= 10) return `${x.toFixed(0)}×`
  if (x >= 0.1) return `${x.toFixed(2)}×`
  return `${x.toPrecision(2)}×`
}

/** Median with the spread of the repetitions, e.g. `2.53 ±4%`. */
export const withSpread = (xs: number[], fmt: (x: number) => string): string => {
  if (xs.length === 0) return 'n/a'
  const m = median(xs)
  if (xs.length === 1 || m === 0) return fmt(m)
  const spread = ((Math.max(...xs) - Math.min(...xs)) / 2 / m) * 100
  return `${fmt(m)} ±${spread < 10 ? spread.toFixed(1) : Math.round(spread)}%`
}

export const yesNo = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? 'MET' : 'not met')
