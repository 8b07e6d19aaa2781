/**
 * A command line that cannot be run as written: an unknown command or flag, a missing argument, a
 * malformed value or store URL. The CLI prints the message and the usage, and exits 2.
 */
export class UsageError extends Error {
  /** The command whose usage to print (`runs list`), or undefined for the general usage. */
  readonly command: string | undefined

  constructor(message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

/** A failure the CLI explains in one line and exits with `exitCode` (1 unless said otherwise). */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The message of anything thrown, without the `[do-sdk] ` tag do-sdk errors carry (the CLI prints its own). */
export const messageOf = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/^\[do-sdk\] /, '')
}
