import type { ScheduleInfo } from '@do-sdk/core'
import { parseInteger } from './args.js'
import { type Command, type CommandContext, str } from './command.js'
import { CliError, UsageError } from './errors.js'
import { duration, fields, inline, plural, table, time, toJson } from './format.js'

/** `30 2 * * * (Europe/Berlin)` or `every 1h00m`. */
const when = (s: ScheduleInfo) =>
  s.cron !== undefined ? `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : s.every !== undefined ? `every ${duration(s.every)}` : '-'

const state = (s: ScheduleInfo) => (s.paused ? 'paused' : 'active')

/** A time and how far from now: `2026-12-05T01:30:00Z (in 6h02m)`. */
const at = (ms: number | undefined, now: number) =>
  ms === undefined ? undefined : `${time(ms)} (${ms >= now ? `in ${duration(ms - now)}` : `${duration(now - ms)} ago`})`

/** One schedule as `schedules show` prints it. */
const renderSchedule = (s: ScheduleInfo, now: number): string =>
  fields([
    ['Schedule', s.id],
    ['Workflow', s.workflowId],
    ['When', when(s)],
    ['State', s.paused ? 'paused (no tick until resumed)' : 'active'],
    ['Next tick', at(s.nextRunAt, now) ?? '-'],
    ['Buffered tick', at(s.bufferedTickAt, now)],
    ['Last tick', at(s.lastTickAt, now)],
    ['Last run', s.lastRunId],
    ['Overlap', s.overlap],
    ['Catch-up', s.catchup],
    ['Input', s.input === undefined ? undefined : inline(s.input)],
    ['Declarative', s.declarative ? 'yes (workflow.create({ schedule }); the definition owns it)' : undefined],
    ['Created', time(s.createdAt)],
    ['Updated', time(s.updatedAt)],
  ])

const schedulesList: Command = {
  name: 'schedules list',
  summary: 'Schedules by id: workflow, cron or interval, state, next tick, last run',
  usage: '[--workflow id] [--limit n] [--cursor c]',
  args: [],
  flags: { workflow: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  async run(ctx) {
    const workflowId = str(ctx.values, 'workflow')
    const limit = parseInteger(str(ctx.values, 'limit'), 'limit', ctx.name, 1, 1_000)
    const cursor = str(ctx.values, 'cursor')
    const page = await (await ctx.engine()).schedules.list({
      ...(workflowId !== undefined ? { workflowId } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    })
    if (ctx.json) {
      ctx.out(toJson(page.nextCursor ? page : { schedules: page.schedules }))
      return 0
    }
    if (page.schedules.length === 0) {
      ctx.out('No schedules.\n')
      return 0
    }
    const rows = page.schedules.map((s) => [s.id, s.workflowId, when(s), state(s), time(s.nextRunAt), s.lastRunId ?? '-'])
    ctx.out(table(['SCHEDULE', 'WORKFLOW', 'WHEN', 'STATE', 'NEXT TICK', 'LAST RUN'], rows))
    const count = plural(page.schedules.length, 'schedule')
    ctx.out(page.nextCursor ? `${count} shown; more: add --cursor ${page.nextCursor}\n` : `${count}\n`)
    return 0
  },
}

const schedulesShow: Command = {
  name: 'schedules show',
  summary: 'A schedule: its spec, state, next and last tick, last run and policies',
  usage: '<scheduleId>',
  args: ['scheduleId'],
  flags: {},
  async run(ctx) {
    const schedule = await (await ctx.engine()).schedules.get(ctx.positionals[0] as string)
    ctx.out(ctx.json ? toJson(schedule) : renderSchedule(schedule, ctx.now()))
    return 0
  },
}

/** Prints the changed schedule: its JSON, or the sentence. */
const changed = (ctx: CommandContext, schedule: ScheduleInfo, sentence: string) => {
  ctx.out(ctx.json ? toJson(schedule) : `${sentence}\n`)
  return 0
}

const schedulesPause: Command = {
  name: 'schedules pause',
  summary: 'Pauses a schedule: no tick until it is resumed (ticks that pass meanwhile are not caught up)',
  usage: '<scheduleId>',
  args: ['scheduleId'],
  flags: {},
  async run(ctx) {
    const id = ctx.positionals[0] as string
    const schedule = await (await ctx.engine()).schedules.pause(id)
    return changed(ctx, schedule, `Paused schedule ${id}: no tick until it is resumed.`)
  },
}

const schedulesResume: Command = {
  name: 'schedules resume',
  summary: 'Resumes a paused schedule from its first tick after now',
  usage: '<scheduleId>',
  args: ['scheduleId'],
  flags: {},
  async run(ctx) {
    const id = ctx.positionals[0] as string
    const schedule = await (await ctx.engine()).schedules.resume(id)
    const next = schedule.nextRunAt === undefined ? 'none left' : time(schedule.nextRunAt)
    return changed(ctx, schedule, `Resumed schedule ${id}: next tick ${next}.`)
  },
}

const schedulesTrigger: Command = {
  name: 'schedules trigger',
  summary: "Starts one run of a schedule's workflow now, with the schedule's input",
  usage: '<scheduleId> --workflows <module>',
  args: ['scheduleId'],
  flags: { workflows: { type: 'string', multiple: true } },
  async run(ctx) {
    const id = ctx.positionals[0] as string
    if (ctx.values.workflows === undefined)
      throw new UsageError(
        "schedules trigger needs --workflows <module>: the run is created on today's definition of the schedule's workflow, so the CLI must load it (e.g. --workflows ./dist/workflows.js)",
        ctx.name,
      )
    const engine = await ctx.engine()
    const schedule = await engine.schedules.get(id)
    const loaded = (await ctx.workflows())?.workflows ?? []
    if (!loaded.some((w) => w.id === schedule.workflowId))
      throw new CliError(
        `Schedule ${id} starts workflow "${schedule.workflowId}", which no --workflows module exports (they export: ${[...new Set(loaded.map((w) => w.id))].join(', ') || 'none'}); nothing was started.`,
      )
    const handle = await engine.schedules.trigger(id)
    const run = await engine.getRun(handle.id)
    if (ctx.json) ctx.out(toJson({ scheduleId: id, runId: handle.id, workflowId: handle.workflowId, status: run.status }))
    else
      ctx.out(`Schedule ${id} started run ${handle.id} (${run.status}; an engine running workflow "${handle.workflowId}" picks it up).\n`)
    return 0
  },
}

export const scheduleCommands: Command[] = [schedulesList, schedulesShow, schedulesPause, schedulesResume, schedulesTrigger]
