import { existsSync, statSync } from 'node:fs'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Workflow, workflow } from '@do-sdk/core'
import { CliError, messageOf, UsageError } from './errors.js'

/** What `--workflows` may name: built JavaScript, ESM or CommonJS. */
export const WORKFLOW_MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs'] as const

/** Workflows found in the modules `--workflows` named. */
export interface LoadedWorkflows {
  workflows: Workflow[]
  /** Absolute paths of the modules, in the order given. */
  files: string[]
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !workflow.isWorkflow(value)

/**
 * The workflows a module exports: named exports that are workflows or arrays of them (`workflows`
 * among them), and a default export that is a workflow, an array of them, or an object holding
 * them (`module.exports = { a, b }` or `{ workflows: [...] }` of a CommonJS module). Each workflow
 * object once, in the order found.
 */
export const workflowsOf = (namespace: Record<string, unknown>): Workflow[] => {
  const found = new Set<Workflow>()
  const take = (value: unknown) => {
    if (workflow.isWorkflow(value)) found.add(value)
    else if (Array.isArray(value)) for (const item of value) if (workflow.isWorkflow(item)) found.add(item)
  }
  for (const [name, value] of Object.entries(namespace)) {
    if (name === 'default' && isPlainObject(value)) for (const inner of Object.values(value)) take(inner)
    else take(value)
  }
  return [...found]
}

/**
 * Imports each module (resolved against `cwd`) and collects its workflows.
 * @throws UsageError for a path that is missing, not a file, or not `.js`/`.mjs`/`.cjs`, or a module exporting no workflow
 * @throws CliError when a module throws while it loads
 */
export const loadWorkflows = async (specs: readonly string[], cwd: string = process.cwd()): Promise<LoadedWorkflows> => {
  const all = new Set<Workflow>()
  const files: string[] = []
  for (const spec of specs) {
    const file = resolve(cwd, spec)
    const ext = extname(file)
    if (!(WORKFLOW_MODULE_EXTENSIONS as readonly string[]).includes(ext))
      throw new UsageError(
        `--workflows ${spec}: expected built JavaScript (${WORKFLOW_MODULE_EXTENSIONS.join(', ')}); build TypeScript first, e.g. with tsup or tsc`,
      )
    if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`--workflows ${spec}: no such file (${file})`)
    let namespace: Record<string, unknown>
    try {
      namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>
    } catch (error) {
      throw new CliError(`--workflows ${spec}: the module failed to load: ${messageOf(error)}`, 1, { cause: error })
    }
    const found = workflowsOf(namespace)
    if (found.length === 0)
      throw new UsageError(
        `--workflows ${spec}: the module exports no workflow (export them by name, as a default array, or as a "workflows" array)`,
      )
    for (const wf of found) all.add(wf)
    files.push(file)
  }
  return { workflows: [...all], files }
}
