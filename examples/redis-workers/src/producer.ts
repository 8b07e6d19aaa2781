// The producer: creates orders and waits for them. Its engine is never started, so it only writes
// the runs (trigger before start) and reads them; the workers claim and execute them.
//
//   COUNT=20 REDIS_URL=redis://127.0.0.1:6379 pnpm producer
import { createEngine } from '@do-sdk/core'
import { openStore } from './config.js'
import { fulfilOrder } from './orders.js'

const count = Number(process.env.COUNT ?? 20)
const batch =
  process.env.BATCH ??
  new Date()
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14)

const store = openStore()
// pollInterval: how often `run.result()` looks at a run that finishes in another process.
const engine = createEngine({ store, workflows: [fulfilOrder], multiProcess: true, pollInterval: '200ms' })

const started = Date.now()
const runs = []
for (let i = 1; i <= count; i++) {
  const orderId = `${batch}-${i}`
  // The run id makes the trigger idempotent: running the producer again with the same BATCH creates nothing new.
  runs.push(await engine.trigger(fulfilOrder, { orderId, items: 1 + (i % 3) }, { id: `order:${orderId}` }))
}
console.log(`created ${count} orders (batch ${batch}); waiting for the workers`)

const outputs = await Promise.all(runs.map((run) => run.result()))
const byWorker: Record<string, number> = {}
for (const out of outputs) byWorker[out.shippedBy] = (byWorker[out.shippedBy] ?? 0) + 1
const seconds = (Date.now() - started) / 1000
console.log(`all ${outputs.length} orders fulfilled in ${seconds.toFixed(2)} s`)
for (const [worker, n] of Object.entries(byWorker).sort()) console.log(`  ${worker}: ${n}`)
console.log(JSON.stringify({ completed: outputs.length, byWorker }))
await store.close?.()
