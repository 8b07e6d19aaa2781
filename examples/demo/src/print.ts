import type { RunInfo } from '@do-sdk/core'

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR
const paint = (code: number) => (text: string) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text)
export const bold = paint(1)
export const dim = paint(2)
export const green = paint(32)
export const yellow = paint(33)
export const cyan = paint(36)
export const magenta = paint(35)

let progressShown = false

/** Prints a line (clearing a progress line first). */
export const say = (text = '') => {
  if (progressShown) {
    process.stdout.write('\r\u001b[2K')
    progressShown = false
  }
  process.stdout.write(`${text}\n`)
}

/** A progress line that rewrites itself in a terminal; in plain output it prints nothing. */
export const progress = (text: string) => {
  if (!tty) return
  process.stdout.write(`\r\u001b[2K${text}`)
  progressShown = true
}

export const json = (value: unknown) =>
  JSON.stringify(value, null, 2)
    .split('\n')
    .map((line) => `    ${dim(line)}`)
    .join('\n')

/** The run's step timeline, times relative to the run's creation. */
export const timeline = (run: RunInfo) => {
  const t0 = run.createdAt
  const rows = run.steps.map((s) => {
    const start = ((s.startedAt - t0) / 1000).toFixed(2).padStart(7)
    const end = s.completedAt === undefined ? '      …' : ((s.completedAt - t0) / 1000).toFixed(2).padStart(7)
    const mark = s.status === 'completed' ? green('✓') : s.status === 'failed' ? '✗' : yellow('…')
    return `  ${mark} ${start}s → ${end}s  ${s.id.padEnd(28)} ${dim(s.kind)}`
  })
  return [bold('Step timeline'), ...rows].join('\n')
}
