import { type Engine, type ForkOptions, InvalidArgumentError } from '@do-sdk/core'

/** What the POST endpoints accept, by command. */
export const COMMANDS = ['signal', 'cancel', 'retry', 'fork'] as const
export type Command = (typeof COMMANDS)[number]

const field = (body: Record<string, unknown>, name: string, command: Command, required: boolean): string | undefined => {
  const value = body[name]
  if (value === undefined && !required) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > 1_000)
    throw new InvalidArgumentError(`POST ${command}: "${name}" must be a string of 1 to 1000 characters`)
  return value
}

/**
 * Runs a command on the engine. Every command goes through the engine's public methods, so the
 * engine's own checks apply (a declared signal's schema, retry only of a failed run, fork's step).
 */
export const runCommand = async (engine: Engine, runId: string, command: Command, body: Record<string, unknown>) => {
  switch (command) {
    case 'signal': {
      const name = field(body, 'name', command, true) as string
      const delivered = await engine.signal(runId, name, body.payload)
      return { runId, delivered }
    }
    case 'cancel': {
      await engine.cancel(runId, field(body, 'reason', command, false) ?? 'cancelled from the dashboard')
      return { runId, cancelled: true }
    }
    case 'retry': {
      const run = await engine.retry(runId)
      return { runId: run.id }
    }
    case 'fork': {
      const options: ForkOptions = { fromStep: field(body, 'fromStep', command, true) as string }
      const id = field(body, 'id', command, false)
      if (id !== undefined) options.id = id
      if (Object.hasOwn(body, 'input')) options.input = body.input
      const run = await engine.fork(runId, options)
      return { runId: run.id, forkedFrom: runId }
    }
  }
}
