import type { Engine } from '@do-sdk/core'
import { toDisplay } from './json.js'

/** What the POST endpoints on a schedule accept: `POST api/schedules/:id/pause|resume|trigger`. */
export const SCHEDULE_COMMANDS = ['pause', 'resume', 'trigger'] as const
export type ScheduleCommand = (typeof SCHEDULE_COMMANDS)[number]

/** The part of `engine.schedules` the commands call. */
interface ScheduleActions {
  pause(id: string): Promise<unknown>
  resume(id: string): Promise<unknown>
  trigger(id: string): Promise<{ id: string; workflowId?: string }>
}

/**
 * An engine that cannot run a schedule command (no `engine.schedules`, or one without the method):
 * answered 501 `SCHEDULES_UNSUPPORTED`, and nothing is written.
 */
export class SchedulesUnsupported extends Error {
  readonly code = 'SCHEDULES_UNSUPPORTED'
  constructor(command: ScheduleCommand) {
    super(`This engine has no engine.schedules.${command}(): it cannot ${command} schedules (nothing was changed).`)
    this.name = 'SchedulesUnsupported'
  }
}

/**
 * Runs a command on a schedule through `engine.schedules`, so the engine's own checks apply (an
 * unknown id is its `ScheduleNotFoundError`, read before anything is written).
 */
export const runScheduleCommand = async (engine: Engine, scheduleId: string, command: ScheduleCommand) => {
  const schedules = (engine as { schedules?: Partial<ScheduleActions> }).schedules
  const method = schedules?.[command]
  if (!schedules || typeof method !== 'function') throw new SchedulesUnsupported(command)
  switch (command) {
    case 'pause':
    case 'resume':
      return { scheduleId, schedule: toDisplay(await (method as ScheduleActions['pause']).call(schedules, scheduleId)) }
    case 'trigger': {
      const run = await (method as ScheduleActions['trigger']).call(schedules, scheduleId)
      return { scheduleId, runId: run.id }
    }
  }
}
