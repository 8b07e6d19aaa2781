import { relative } from 'node:path'
import type { ReplayCheckReport, ReplayFailure } from '@do-sdk/core'
import { parseInteger } from './args.js'
import type { Command } from './command.js'
import { UsageError } from './errors.js'
import { fields, plural, toJson } from './format.js'

const renderFailure = (f: ReplayFailure) => {
  const head = `FAIL  ${f.runId}  ${f.workflowId}@${f.version}\n`
  const detail = fields([
    ['code step', f.stepId],
    ['journal step', f.journalStepId],
    ['why', f.message.replace(/^\[do-sdk\] /, '')],
  ])
  return head + detail.replace(/^/gm, '      ')
}

/** The summary line: what was checked against what, and how many would not replay. */
export const summary = (report: ReplayCheckReport, modules: string) => {
  if (report.checked === 0) return `replay-check: no unfinished runs to check (code from ${modules})`
  if (report.ok) return `replay-check: all ${plural(report.checked, 'unfinished run')} replay on ${modules}`
  return `replay-check: ${report.failures.length} of ${plural(report.checked, 'unfinished run')} would not replay on ${modules}`
}

export const replayCheckCommand: Command = {
  name: 'replay-check',
  summary: 'Replays every unfinished run against new workflow code, without running or writing anything; exit 1 if one would not replay',
  usage: '--workflows <module> [--workflows <module>…] [--limit n]',
  args: [],
  flags: { workflows: { type: 'string', multiple: true }, limit: { type: 'string' } },
  async run(ctx) {
    const limit = parseInteger(
      typeof ctx.values.limit === 'string' ? ctx.values.limit : undefined,
      'limit',
      ctx.name,
      1,
      Number.MAX_SAFE_INTEGER,
    )
    if (ctx.values.workflows === undefined)
      throw new UsageError(
        'replay-check needs --workflows <module>: the built code to check the runs against (e.g. ./dist/workflows.js)',
        ctx.name,
      )
    const loaded = (await ctx.workflows())!
    const engine = await ctx.engine()
    const report = await engine.replayCheck({ workflows: loaded.workflows, ...(limit !== undefined ? { limit } : {}) })
    const definitions = loaded.workflows.map((wf) => `${wf.id}@${wf.version}`)
    if (ctx.json) ctx.out(toJson({ ...report, definitions }))
    else {
      const modules = loaded.files.map((f) => relative(ctx.cwd, f) || f).join(', ')
      for (const failure of report.failures) ctx.out(`${renderFailure(failure)}\n`)
      ctx.out(`${summary(report, modules)} (${plural(definitions.length, 'workflow definition')})\n`)
    }
    return report.ok ? 0 : 1
  },
}
