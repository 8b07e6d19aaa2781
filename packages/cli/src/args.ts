import { parseDuration, type RunStatus } from '@do-sdk/core'
import { UsageError } from './errors.js'

/** One flag, as `node:util` parseArgs takes it. */
export interface FlagSpec {
  type: 'string' | 'boolean'
  short?: string
  multiple?: boolean
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  store: { type: 'string' },
  namespace: { type: 'string' },
  schema: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
}

/** How long a command may take before the CLI gives up, unless `--timeout` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000

/** `--timeout 30s` / `2m` / ms; 0 waits for ever. */
export const parseTimeout = (value: string | undefined, command: string): number => {
  if (value === undefined) return DEFAULT_TIMEOUT_MS
  try {
    return parseDuration(value, '--timeout')
  } catch {
    throw new UsageError(`--timeout: "${value}" is not a duration (e.g. 30s, 5m, or ms; 0 for no limit)`, command)
  }
}

export const RUN_STATUSES: readonly RunStatus[] = ['pending', 'running', 'sleeping', 'waiting', 'completed', 'failed', 'cancelled']

/** `--status waiting,sleeping` (or the flag repeated) as a list of statuses. */
export const parseStatuses = (values: string[] | undefined, command: string): RunStatus[] | undefined => {
  if (values === undefined) return undefined
  const list = values.flatMap((v) => v.split(',')).map((s) => s.trim())
  for (const s of list)
    if (!RUN_STATUSES.includes(s as RunStatus))
      throw new UsageError(`--status: unknown run status "${s}" (one of ${RUN_STATUSES.join(', ')})`, command)
  return [...new Set(list)] as RunStatus[]
}

/** `--from` / `--to`: an ISO 8601 date or date-time, or Unix ms. */
export const parseTime = (value: string | undefined, flag: string, command: string): number | undefined => {
  if (value === undefined) return undefined
  const ms = /^\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  if (!Number.isFinite(ms))
    throw new UsageError(`--${flag}: "${value}" is not a time (an ISO date such as 2025-06-01T09:00:00Z, or Unix ms)`, command)
  return ms
}

/** A whole number from `min` to `max`. */
export const parseInteger = (value: string | undefined, flag: string, command: string, min: number, max: number): number | undefined => {
  if (value === undefined) return undefined
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag}: expected a whole number from ${min} to ${max}, got "${value}"`, command)
  return n
}

/** A JSON argument (`--payload`, `--input`). */
export const parseJson = (value: string | undefined, flag: string, command: string): unknown => {
  if (value === undefined) return undefined
  try {
    return JSON.parse(value)
  } catch (error) {
    throw new UsageError(`--${flag}: not valid JSON (${(error as Error).message}): ${value}`, command)
  }
}
