// Plain-text output: aligned tables, times, durations and values. No colours: the output is read in
// CI logs and piped to grep as often as it is read in a terminal.

/** JSON.stringify replacer for what the engine's serializer round-trips but JSON does not (BigInt, Error). */
const replacer = (_key: string, value: unknown) => {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

/** The document `--json` prints: indented, BigInt as a decimal string. */
export const toJson = (value: unknown): string => `${JSON.stringify(value, replacer, 2)}\n`

/** A value on one line, cut to `max` characters. */
export const inline = (value: unknown, max = 120): string => {
  const text = value === undefined ? 'undefined' : (JSON.stringify(value, replacer) ?? String(value))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Unix ms as UTC ISO 8601 to the second, e.g. `2025-06-01T09:30:00Z`. */
export const time = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** A duration in ms, short: `850ms`, `12.4s`, `3m05s`, `2h10m`, `4d03h`. */
export const duration = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '-'
  const sign = ms < 0 ? '-' : ''
  const abs = Math.abs(Math.round(ms))
  const pad = (n: number) => String(n).padStart(2, '0')
  if (abs < 1_000) return `${sign}${abs}ms`
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(1)}s`
  const s = Math.floor(abs / 1_000)
  if (s < 3_600) return `${sign}${Math.floor(s / 60)}m${pad(s % 60)}s`
  if (s < 86_400) return `${sign}${Math.floor(s / 3_600)}h${pad(Math.floor(s / 60) % 60)}m`
  return `${sign}${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3_600) % 24)}h`
}

/** Columns aligned with two spaces between them; the last column is not padded. */
export const table = (headers: string[], rows: string[][]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

/** `label  value` lines, labels aligned; lines whose value is undefined are left out. */
export const fields = (pairs: [string, string | undefined][]): string => {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined)
  const width = Math.max(...shown.map(([label]) => label.length))
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n'
}

/** `1 run`, `3 runs`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
