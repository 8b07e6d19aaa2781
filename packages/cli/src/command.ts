import type { Engine } from '@do-sdk/core'
import type { FlagSpec } from './args.js'
import type { LoadedWorkflows } from './workflows-module.js'

/** Parsed flag values, as `node:util` parseArgs returns them. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>

/** What a command gets to do its work. */
export interface CommandContext {
  /** The command's name, e.g. `runs list` (for usage errors). */
  name: string
  values: FlagValues
  positionals: string[]
  /** `--json`: print one JSON document on stdout. */
  json: boolean
  /** Writes to stdout. */
  out(text: string): void
  /** Writes to stderr. */
  err(text: string): void
  /**
   * Opens the store and an engine on it that is never started: it reads and writes run records
   * (signals, cancel, retry, fork) and never executes a run. With `--workflows`, they are registered.
   */
  engine(): Promise<Engine>
  /** The modules `--workflows` named, loaded (undefined without the flag). */
  workflows(): Promise<LoadedWorkflows | undefined>
  /** The time now (Unix ms). */
  now(): number
  /** The directory relative paths are resolved against. */
  cwd: string
}

/** One command of the CLI. */
export interface Command {
  /** `runs list`, `replay-check`. */
  name: string
  /** One line: what it does. */
  summary: string
  /** Arguments and flags after the name, e.g. `<runId> [--reason text]`. */
  usage: string
  /** Names of the positional arguments, all required. */
  args: string[]
  /** Its own flags (the global ones are added). */
  flags: Record<string, FlagSpec>
  /** Does the work; resolves with the exit code. Validates its flags before it opens anything. */
  run(ctx: CommandContext): Promise<number>
}

/** The string value of a flag (the last one when repeated). */
export const str = (values: FlagValues, name: string): string | undefined => {
  const v = values[name]
  if (Array.isArray(v)) return v[v.length - 1]
  return typeof v === 'string' ? v : undefined
}

/** Every value of a repeatable flag. */
export const list = (values: FlagValues, name: string): string[] | undefined => {
  const v = values[name]
  if (v === undefined || typeof v === 'boolean') return undefined
  return Array.isArray(v) ? v : [v]
}
