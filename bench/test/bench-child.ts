// What the bench's tests share: running a bench script as a child process, and reading the
// markdown tables it prints.
import { spawnScript } from '../src/child.js'

export interface ScriptResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `src/<script>` of the bench under tsx, from the bench folder, with `args` and `env` added. */
export const runBenchScript = (script: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<ScriptResult>((resolve, reject) => {
    const { child, output } = spawnScript(script, args, { env: { ...process.env, ...env } })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, ...output })) // after the output streams end
  })

/** The cells (trimmed) of every table row printed, header and separator rows included. */
export const tableRows = (stdout: string): string[][] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    )

/** The table row whose first cell is `first`, or undefined. */
export const rowOf = (stdout: string, first: string) => tableRows(stdout).find((cells) => cells[0] === first)
