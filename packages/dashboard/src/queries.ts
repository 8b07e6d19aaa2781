import {
  DoSdkError,
  type Engine,
  ErrorCodes,
  InvalidArgumentError,
  type ListRunsOptions,
  type RunInfo,
  type RunStatus,
  type StepInfo,
} from '@do-sdk/core'
import { toDisplay } from './json.js'

export const STATUSES: readonly RunStatus[] = ['pending', 'running', 'sleeping', 'waiting', 'completed', 'failed', 'cancelled']

/** A time of the query string: Unix ms or an ISO date. */
const timeParam = (params: URLSearchParams, name: string): number | undefined => {
  const raw = params.get(name)
  if (raw === null || raw === '') return undefined
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(ms))
    throw new InvalidArgumentError(`Query parameter "${name}" must be Unix ms or an ISO date, got ${JSON.stringify(raw)}`)
  return ms
}

/** Statuses of the query string: `status=failed&status=running` or `status=failed,running`. */
const statusParam = (params: URLSearchParams): RunStatus[] | undefined => {
  const list = params
    .getAll('status')
    .flatMap((s) => s.split(','))
    .filter((s) => s !== '')
  for (const s of list)
    if (!STATUSES.includes(s as RunStatus))
      throw new InvalidArgumentError(`Query parameter "status": unknown run status ${JSON.stringify(s)} (one of ${STATUSES.join(', ')})`)
  return list.length ? (list as RunStatus[]) : undefined
}

/** `GET api/runs` parameters → `engine.listRuns` options. */
export const listOptions = (params: URLSearchParams): ListRunsOptions => {
  const out: ListRunsOptions = {}
  const workflowId = params.get('workflowId')
  if (workflowId) out.workflowId = workflowId
  const status = statusParam(params)
  if (status) out.status = status
  const from = timeParam(params, 'from')
  if (from !== undefined) out.from = from
  const to = timeParam(params, 'to')
  if (to !== undefined) out.to = to
  const idPrefix = params.get('idPrefix')
  if (idPrefix) out.idPrefix = idPrefix
  const limit = params.get('limit')
  if (limit !== null && limit !== '') {
    const n = Number(limit)
    if (!Number.isInteger(n) || n < 1 || n > 200)
      throw new InvalidArgumentError(`Query parameter "limit" must be an integer from 1 to 200, got ${JSON.stringify(limit)}`)
    out.limit = n
  } else out.limit = 50
  const cursor = params.get('cursor')
  if (cursor) out.cursor = cursor
  return out
}

/** A run's line in the list: no input, state or output (a page of them stays small). */
export const summary = (run: RunInfo) => ({
  id: run.id,
  workflowId: run.workflowId,
  version: run.version,
  status: run.status,
  createdAt: run.createdAt,
  updatedAt: run.updatedAt,
  finishedAt: run.finishedAt,
  currentStep: run.currentStep,
  waitingFor: run.waitingFor,
  wakeAt: run.wakeAt,
  parentId: run.parentId,
  retries: run.retries,
  error: run.error ? { name: run.error.name, message: run.error.message, code: run.error.code } : undefined,
})

/** Counts per status (and in all) for a workflow or every workflow. */
export const countByStatus = async (engine: Engine, workflowId: string | undefined) => {
  const counts = await Promise.all(STATUSES.map((status) => engine.countRuns({ workflowId, status })))
  const byStatus = Object.fromEntries(STATUSES.map((s, i) => [s, counts[i]])) as Record<RunStatus, number>
  return { total: counts.reduce((a, b) => a + (b ?? 0), 0), byStatus }
}

/** A node of the child-run tree. */
export interface RunNode {
  id: string
  workflowId?: string
  status?: RunStatus
  /** The step of the parent that started it. */
  stepId?: string
  /** Gone from the store (retention removed it) or unreadable. */
  missing?: boolean
  children: RunNode[]
}

const TREE_DEPTH = 6
const TREE_NODES = 200

const isNotFound = (error: unknown) => DoSdkError.hasCode(error, ErrorCodes.RUN_NOT_FOUND)

/** The runs started by `run`'s steps (`step.invoke`), and theirs, breadth first, bounded. */
const childTree = async (engine: Engine, run: RunInfo): Promise<RunNode[]> => {
  let budget = TREE_NODES
  const build = async (parent: RunInfo, depth: number): Promise<RunNode[]> => {
    const invoked = parent.steps.filter((s) => s.childId !== undefined)
    const nodes: RunNode[] = []
    for (const step of invoked) {
      if (budget-- <= 0) break
      const id = step.childId as string
      const child = await engine.getRun(id).catch((e: unknown) => {
        if (isNotFound(e)) return undefined
        throw e
      })
      if (!child) {
        nodes.push({ id, stepId: step.id, missing: true, children: [] })
        continue
      }
      const node: RunNode = { id, workflowId: child.workflowId, status: child.status, stepId: step.id, children: [] }
      if (depth < TREE_DEPTH) node.children = await build(child, depth + 1)
      nodes.push(node)
    }
    return nodes
  }
  return build(run, 1)
}

/** The run's ancestors, nearest first (`parentId` links), bounded. */
const ancestors = async (engine: Engine, run: RunInfo) => {
  const out: { id: string; workflowId?: string; status?: RunStatus }[] = []
  let parentId = run.parentId
  while (parentId && out.length < TREE_DEPTH) {
    const parent = await engine.getRun(parentId).catch(() => undefined)
    if (!parent) {
      out.push({ id: parentId })
      break
    }
    out.push({ id: parent.id, workflowId: parent.workflowId, status: parent.status })
    parentId = parent.parentId
  }
  return out
}

/** Steps whose attempts get an idempotency key (`${runId}:${stepId}`, what actions and functions receive). */
const KEYED: ReadonlySet<StepInfo['kind']> = new Set(['action', 'fn'])

/** `GET api/runs/:id`: the run, its steps with keys and durations, its parents and its child runs. */
export const runDetail = async (engine: Engine, runId: string) => {
  const run = await engine.getRun(runId)
  const steps = run.steps.map((s) => ({
    ...s,
    output: s.output === undefined ? undefined : toDisplay(s.output),
    idempotencyKey: KEYED.has(s.kind) ? `${run.id}:${s.id}` : undefined,
    durationMs: s.completedAt !== undefined ? s.completedAt - s.startedAt : undefined,
  }))
  return {
    run: {
      ...run,
      input: toDisplay(run.input),
      state: toDisplay(run.state),
      output: run.output === undefined ? undefined : toDisplay(run.output),
      steps,
    },
    parents: await ancestors(engine, run),
    children: await childTree(engine, run),
  }
}
