import type { Workflow } from '@do-sdk/core'
import { toJSONSchema, type ZodType } from 'zod'

/** A workflow as the Workflows view shows it. */
export interface WorkflowDescription {
  id: string
  version: string
  description?: string
  /** JSON Schema (draft 2020-12) of the input, `{}` when the workflow has none. */
  inputSchema: Record<string, unknown>
  stateSchema: Record<string, unknown>
  outputSchema: Record<string, unknown>
  /** Declared signals with the JSON Schema of their payload (empty: the workflow takes any signal). */
  signals: { name: string; schema: Record<string, unknown> }[]
}

const jsonSchemaOf = (schema: ZodType | undefined, io: 'input' | 'output'): Record<string, unknown> => {
  if (!schema) return {}
  try {
    return toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>
  } catch {
    // A schema zod cannot express (a transform with a cycle…): show that, not an error page.
    return { description: 'This schema has no JSON Schema form.' }
  }
}

/** Describes the workflows given in the `workflows` option, sorted by id then version. */
export const describeWorkflows = (workflows: readonly Workflow[]): WorkflowDescription[] =>
  workflows
    .map((w) => {
      const out: WorkflowDescription = {
        id: w.id,
        version: w.version,
        inputSchema: jsonSchemaOf(w.inputSchema, 'input'),
        stateSchema: jsonSchemaOf(w.stateSchema, 'output'),
        outputSchema: jsonSchemaOf(w.outputSchema, 'output'),
        signals: Object.keys(w.signalSchemas ?? {}).map((name) => ({
          name,
          schema: jsonSchemaOf(w.signalSchemas?.[name], 'input'),
        })),
      }
      if (w.description) out.description = w.description
      return out
    })
    .sort((a, b) => (a.id === b.id ? a.version.localeCompare(b.version) : a.id < b.id ? -1 : 1))
