import { InvalidArgumentError } from '../errors.js'
import type { Workflow } from '../workflow.js'

/** The workflows an engine may run: every version still in flight, and the latest of each id. */
export class WorkflowRegistry {
  private readonly versions = new Map<string, Map<string, Workflow>>()
  private readonly latestOf = new Map<string, Workflow>()

  constructor(workflows: Workflow[] = []) {
    for (const wf of workflows) this.register(wf)
  }

  register(wf: Workflow) {
    const versions = this.versions.get(wf.id) ?? new Map<string, Workflow>()
    if (versions.has(wf.version) && versions.get(wf.version) !== wf) {
      throw new InvalidArgumentError(`Workflow "${wf.id}" version "${wf.version}" is registered twice with different definitions`)
    }
    versions.set(wf.version, wf)
    this.versions.set(wf.id, versions)
    this.latestOf.set(wf.id, wf)
  }

  /** The last registered version of a workflow id (what `trigger` starts). */
  latest(id: string): Workflow | undefined {
    return this.latestOf.get(id)
  }

  /** One version of a workflow (what a run in flight resumes on). */
  get(id: string, version: string): Workflow | undefined {
    return this.versions.get(id)?.get(version)
  }

  /** The latest version of every workflow id. */
  latestAll(): Workflow[] {
    return [...this.latestOf.values()]
  }

  /** Every version of every workflow. */
  all(): Workflow[] {
    return [...this.versions.values()].flatMap((versions) => [...versions.values()])
  }
}
