import { parseWith } from '../validation.js'
import type { Workflow } from '../workflow.js'
import type { EngineStore } from './store.js'

/**
 * The state a run starts with, as the code sees it before its first `setState`: `initialState(input)`
 * parsed by the state schema (defaults, transforms), redacted, and through the serializer, exactly
 * as it is stored and as a replay rebuilds it. Throws what the schema or the serializer refuses.
 */
export const initialStateOf = async (wf: Workflow, input: unknown, store: EngineStore): Promise<Record<string, unknown>> => {
  const parsed = await parseWith(wf.stateSchema, wf.initialState(input) ?? {}, `initial state of workflow "${wf.id}"`)
  return store.serializer.decode(store.encode(store.scrub(parsed), `initial state of workflow "${wf.id}"`)) as Record<string, unknown>
}
