import type { ListRunsOptions, RunInfo } from '@do-sdk/core'
import { parseInteger, parseStatuses, parseTime } from './args.js'
import { type Command, list, str } from './command.js'
import { plural, table, time, toJson } from './format.js'
import { renderRun } from './show.js'

/** A listed run without its `steps` (listing reads no journal, so the list would always be empty). */
const listed = ({ steps: _steps, ...run }: RunInfo) => run

const runsList: Command = {
  name: 'runs list',
  summary: 'Runs, newest first, filtered and paged',
  usage: '[--workflow id] [--status s[,s]] [--from time] [--to time] [--id-prefix p] [--limit n] [--cursor c]',
  args: [],
  flags: {
    workflow: { type: 'string' },
    status: { type: 'string', multiple: true },
    from: { type: 'string' },
    to: { type: 'string' },
    'id-prefix': { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  async run(ctx) {
    const { values, name } = ctx
    const options: ListRunsOptions = {}
    const workflowId = str(values, 'workflow')
    const status = parseStatuses(list(values, 'status'), name)
    const from = parseTime(str(values, 'from'), 'from', name)
    const to = parseTime(str(values, 'to'), 'to', name)
    const idPrefix = str(values, 'id-prefix')
    const limit = parseInteger(str(values, 'limit'), 'limit', name, 1, 1_000)
    const cursor = str(values, 'cursor')
    if (workflowId !== undefined) options.workflowId = workflowId
    if (status !== undefined) options.status = status
    if (from !== undefined) options.from = from
    if (to !== undefined) options.to = to
    if (idPrefix !== undefined) options.idPrefix = idPrefix
    if (limit !== undefined) options.limit = limit
    if (cursor !== undefined) options.cursor = cursor
    const page = await (await ctx.engine()).listRuns(options)
    if (ctx.json) {
      ctx.out(toJson({ runs: page.runs.map(listed), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }))
      return 0
    }
    if (page.runs.length === 0) {
      ctx.out('No runs match.\n')
      return 0
    }
    const rows = page.runs.map((r) => [
      r.id,
      `${r.workflowId}@${r.version}`,
      r.status,
      r.currentStep ?? '',
      time(r.createdAt),
      time(r.updatedAt),
    ])
    ctx.out(table(['RUN', 'WORKFLOW', 'STATUS', 'STEP', 'CREATED', 'UPDATED'], rows))
    ctx.out(
      page.nextCursor
        ? `${plural(page.runs.length, 'run')} shown; more: add --cursor ${page.nextCursor}\n`
        : `${plural(page.runs.length, 'run')}\n`,
    )
    return 0
  },
}

const runsCount: Command = {
  name: 'runs count',
  summary: 'How many runs match',
  usage: '[--workflow id] [--status s[,s]]',
  args: [],
  flags: { workflow: { type: 'string' }, status: { type: 'string', multiple: true } },
  async run(ctx) {
    const workflowId = str(ctx.values, 'workflow')
    const status = parseStatuses(list(ctx.values, 'status'), ctx.name)
    const count = await (await ctx.engine()).countRuns({
      ...(workflowId !== undefined ? { workflowId } : {}),
      ...(status !== undefined ? { status } : {}),
    })
    ctx.out(ctx.json ? toJson({ count }) : `${count}\n`)
    return 0
  },
}

const runsShow: Command = {
  name: 'runs show',
  summary: 'A run: its record, its steps as a timeline (durations, attempts) and its errors',
  usage: '<runId>',
  args: ['runId'],
  flags: {},
  async run(ctx) {
    const run = await (await ctx.engine()).getRun(ctx.positionals[0] as string)
    ctx.out(ctx.json ? toJson(run) : renderRun(run, ctx.now()))
    return 0
  },
}

export const readCommands: Command[] = [runsList, runsCount, runsShow]
