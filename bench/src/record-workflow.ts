// The batches one workflow of the bench's workload writes, recorded on a memory store: what
// `pg-floor` replays with pgbench and the `store-postgres` subject replays through postgresStore.
import { createEngine, type Datastore, memoryStore, silentLogger, type WriteOp } from '@do-sdk/core'
import { threeSteps } from './workload.js'

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

/** The uuid inside a run id (`<workflow>:<uuid>`); every key of the run's batches contains it. */
export const uuidOf = (runId: string): string => {
  const uuid = runId.match(UUID)?.[0]
  if (!uuid) throw new Error(`no uuid in the run id ${JSON.stringify(runId)}`)
  return uuid
}

/** The batches one workflow of the workload writes, recorded on a memory store (after a warm-up run). */
export const recordWorkflow = async (): Promise<{ runId: string; batches: WriteOp[][] }> => {
  const inner = memoryStore()
  let batches: WriteOp[][] | undefined
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown
      if (prop === 'batch')
        return (ops: WriteOp[]) => {
          batches?.push(ops.map((op) => ({ ...op })))
          return target.batch(ops)
        }
      return typeof value === 'function' ? value.bind(target) : value
    },
  }) as Datastore
  const engine = createEngine({ store, workflows: [threeSteps], logger: silentLogger })
  await engine.start()
  try {
    await (await engine.trigger(threeSteps, { i: 0 })).result()
    batches = []
    const handle = await engine.trigger(threeSteps, { i: 1 })
    await handle.result()
    const recorded = batches
    batches = undefined // stop() writes too (it releases the engine's lock)
    return { runId: handle.id, batches: recorded }
  } finally {
    await engine.stop()
  }
}
