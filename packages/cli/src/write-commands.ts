import type { RunInfo } from '@do-sdk/core'
import { parseJson } from './args.js'
import { type Command, type CommandContext, str } from './command.js'
import { UsageError } from './errors.js'
import { toJson } from './format.js'

const FINISHED = new Set(['completed', 'failed', 'cancelled'])

/** Reports what was done: the JSON document, or the sentence. `failed`: the run had finished, nothing was done (exit 1). */
const report = (ctx: CommandContext, doc: Record<string, unknown>, sentence: string, failed = false) => {
  if (ctx.json) ctx.out(toJson(doc))
  else if (failed) ctx.err(`do-sdk: ${sentence}\n`)
  else ctx.out(`${sentence}\n`)
  return failed ? 1 : 0
}

const runsSignal: Command = {
  name: 'runs signal',
  summary: 'Sends a signal to a run (kept until the run waits for it)',
  usage: '<runId> <name> [--payload json] [--workflows module]',
  args: ['runId', 'name'],
  flags: { payload: { type: 'string' }, workflows: { type: 'string', multiple: true } },
  async run(ctx) {
    const [runId, name] = ctx.positionals as [string, string]
    const payload = parseJson(str(ctx.values, 'payload'), 'payload', ctx.name)
    const engine = await ctx.engine()
    const stored = await engine.signal(runId, name, payload)
    if (stored) return report(ctx, { runId, name, stored }, `Signal "${name}" stored for run ${runId}.`)
    const { status } = await engine.getRun(runId)
    return report(ctx, { runId, name, stored, status }, `Run ${runId} is already ${status}: the signal "${name}" was not sent.`, true)
  },
}

const runsCancel: Command = {
  name: 'runs cancel',
  summary: 'Cancels a run and its children',
  usage: '<runId> [--reason text]',
  args: ['runId'],
  flags: { reason: { type: 'string' } },
  async run(ctx) {
    const runId = ctx.positionals[0] as string
    const reason = str(ctx.values, 'reason')
    const engine = await ctx.engine()
    const before = await engine.getRun(runId)
    const finished = (run: RunInfo) =>
      report(ctx, { runId, result: 'finished', status: run.status }, `Run ${runId} is already ${run.status}: nothing to cancel.`, true)
    if (FINISHED.has(before.status)) return finished(before)
    await engine.cancel(runId, ...(reason === undefined ? [] : [reason]))
    const after = await engine.getRun(runId)
    if (after.status === 'cancelled')
      return report(ctx, { runId, result: 'cancelled', status: after.status }, `Cancelled run ${runId}${reason ? ` (${reason})` : ''}.`)
    if (FINISHED.has(after.status)) return finished(after)
    // Another process executes it: the request is stored, and that process stops the run.
    return report(
      ctx,
      { runId, result: 'requested', status: after.status, ...(after.owner ? { engine: after.owner } : {}) },
      `Cancel requested: run ${runId} is ${after.status}${after.owner ? ` in engine ${after.owner}` : ''}, which cancels it at its next step.`,
    )
  },
}

const runsRetry: Command = {
  name: 'runs retry',
  summary: 'Resumes a failed run from the step failure that ended it',
  usage: '<runId>',
  args: ['runId'],
  flags: {},
  async run(ctx) {
    const runId = ctx.positionals[0] as string
    const engine = await ctx.engine()
    await engine.retry(runId)
    const run = await engine.getRun(runId)
    return report(
      ctx,
      { runId, status: run.status, retries: run.retries },
      `Run ${runId} goes again from its failed step (retry ${run.retries}), status ${run.status}: an engine running workflow "${run.workflowId}" picks it up.`,
    )
  },
}

const runsFork: Command = {
  name: 'runs fork',
  summary: "Starts a new run reusing a run's finished steps before a step, and running that step and the rest on today's code",
  usage: '<runId> --from-step <stepId> --workflows <module> [--input json] [--id newRunId]',
  args: ['runId'],
  flags: {
    'from-step': { type: 'string' },
    input: { type: 'string' },
    id: { type: 'string' },
    workflows: { type: 'string', multiple: true },
  },
  async run(ctx) {
    const runId = ctx.positionals[0] as string
    const fromStep = str(ctx.values, 'from-step')
    if (fromStep === undefined)
      throw new UsageError('runs fork needs --from-step <stepId> (see the STEP column of `do-sdk runs show`)', ctx.name)
    if (ctx.values.workflows === undefined)
      throw new UsageError(
        "runs fork needs --workflows <module>: the new run is created on today's definition of the workflow, so the CLI must load it (e.g. --workflows ./dist/workflows.js)",
        ctx.name,
      )
    const input = parseJson(str(ctx.values, 'input'), 'input', ctx.name)
    const id = str(ctx.values, 'id')
    const engine = await ctx.engine()
    const handle = await engine.fork(runId, {
      fromStep,
      ...(input !== undefined ? { input } : {}),
      ...(id !== undefined ? { id } : {}),
    })
    const run = await engine.getRun(handle.id)
    return report(
      ctx,
      { runId: handle.id, sourceRunId: runId, fromStep, workflowId: handle.workflowId, status: run.status },
      `Forked run ${runId} at step ${fromStep}: new run ${handle.id} (${run.status}; an engine running workflow "${handle.workflowId}" picks it up).`,
    )
  },
}

export const writeCommands: Command[] = [runsSignal, runsCancel, runsRetry, runsFork]
