import type { RunInfo, StepInfo, StoredError } from '@do-sdk/core'
import { duration, fields, inline, plural, table, time } from './format.js'

const FINISHED = new Set(['completed', 'failed', 'cancelled'])

/** The tag do-sdk errors start their messages with: the CLI's output is do-sdk's anyway. */
const untag = (text: string) => text.replace(/^\[do-sdk\] /, '').replace(/: \[do-sdk\] /, ': ')

const errorLine = (e: StoredError) => `${e.name}${e.code ? ` (${e.code})` : ''}: ${untag(e.message).split('\n')[0]}`

const statusLine = (run: RunInfo, now: number) => {
  if (run.status === 'waiting' && run.waitingFor?.length) return `waiting for ${run.waitingFor.join(', ')}`
  if (run.status === 'sleeping' && run.wakeAt !== undefined) return `sleeping until ${time(run.wakeAt)} (in ${duration(run.wakeAt - now)})`
  return run.status
}

/** How long a step took, or has taken so far (`…`) while its run is unfinished. */
const stepDuration = (step: StepInfo, run: RunInfo, now: number) => {
  if (step.completedAt !== undefined) return duration(step.completedAt - step.startedAt)
  if (FINISHED.has(run.status)) return '-'
  return `${duration(now - step.startedAt)}…`
}

const stepDetail = (step: StepInfo, now: number) => {
  const parts: string[] = []
  if (step.error) parts.push(errorLine(step.error))
  if (step.status === 'retrying' && step.until !== undefined) parts.push(`next attempt ${time(step.until)}`)
  else if ((step.status === 'sleeping' || step.status === 'waiting') && step.until !== undefined)
    parts.push(`until ${time(step.until)} (in ${duration(step.until - now)})`)
  if (step.childId) parts.push(`child run ${step.childId}`)
  if (step.status === 'completed' && step.output !== undefined) parts.push(`= ${inline(step.output, 60)}`)
  return parts.join('; ')
}

/** The steps as a timeline: when each started after the run was created, how long it took, its attempts. */
export const renderSteps = (run: RunInfo, now: number): string => {
  if (run.steps.length === 0) return 'Steps: none yet\n'
  const rows = run.steps.map((step, i) => [
    String(i + 1),
    step.id,
    step.kind,
    step.status,
    `+${duration(step.startedAt - run.createdAt)}`,
    stepDuration(step, run, now),
    step.attempts === undefined ? '' : String(step.attempts),
    stepDetail(step, now),
  ])
  const header = `Steps (${run.steps.length})\n`
  return header + table(['#', 'STEP', 'KIND', 'STATUS', 'START', 'DURATION', 'ATTEMPTS', 'DETAIL'], rows)
}

/** The errors of the run and of its steps in full (the table shows their first line). */
const renderErrors = (run: RunInfo): string => {
  const blocks: string[] = []
  for (const step of run.steps) if (step.error) blocks.push(`step ${step.id}: ${errorLine(step.error)}`)
  if (run.error) {
    const detail = run.error.stack?.includes(run.error.message) ? run.error.stack : `${errorLine(run.error)}\n${run.error.stack ?? ''}`
    blocks.push(`run: ${untag(detail.trim())}`)
  }
  return blocks.length === 0 ? '' : `\nErrors\n${blocks.map((b) => b.replace(/\n/g, '\n  ')).join('\n')}\n`
}

/** `runs show`: the record, the steps timeline, and the errors. */
export const renderRun = (run: RunInfo, now: number): string => {
  const took = run.finishedAt === undefined ? '' : ` (took ${duration(run.finishedAt - run.createdAt)})`
  const record = fields([
    ['Run', run.id],
    ['Workflow', `${run.workflowId} (version ${run.version})`],
    ['Status', statusLine(run, now)],
    ['Current step', run.currentStep],
    ['Created', time(run.createdAt)],
    ['Updated', time(run.updatedAt)],
    ['Finished', run.finishedAt === undefined ? undefined : `${time(run.finishedAt)}${took}`],
    ['Retried', run.retries > 0 ? plural(run.retries, 'time') : undefined],
    ['Parent run', run.parentId],
    ['Engine', run.owner],
    ['Input', inline(run.input, 200)],
    ['State', inline(run.state, 200)],
    ['Output', run.output === undefined ? undefined : inline(run.output, 200)],
    ['Error', run.error ? errorLine(run.error) : undefined],
  ])
  return `${record}\n${renderSteps(run, now)}${renderErrors(run)}`
}
