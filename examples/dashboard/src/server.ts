/**
 * The example as a process:
 *
 *   pnpm --filter @do-sdk/example-dashboard start     # then open http://127.0.0.1:3000/admin/runs/
 *
 * Env: PORT (default 3000), HOST (default 127.0.0.1), DB_PATH (default ./.demo/dashboard.db),
 * ADMIN_PASSWORD and VIEWER_PASSWORD (default: random, printed at start), ORDER_EVERY (ms between
 * demo orders, default 4000; 0: none), FAILURE_RATE (share of declined cards, default 0.3).
 */

import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { createApp } from './app.js'
import { flakyGateway } from './orders.js'

const env = process.env
const dbPath = env.DB_PATH ?? './.demo/dashboard.db'
mkdirSync(dirname(dbPath), { recursive: true })
const password = (value: string | undefined) => value ?? randomBytes(9).toString('base64url')
const users = {
  admin: { password: password(env.ADMIN_PASSWORD), role: 'admin' as const },
  viewer: { password: password(env.VIEWER_PASSWORD), role: 'viewer' as const },
}
const store = sqliteStore({ path: dbPath })
const { app, engine, fulfilment } = createApp({ store, users, charge: flakyGateway(Number(env.FAILURE_RATE ?? 0.3)) })
await engine.start()
const server = app.listen(Number(env.PORT ?? 3000), env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`dashboard: http://${address}:${port}/admin/runs/`)
  for (const [name, u] of Object.entries(users)) console.log(`  sign in as ${name} / ${u.password} (${u.role})`)
})

// Demo traffic: a new order every few seconds, so the dashboard has runs that wait, fail and finish.
const every = Number(env.ORDER_EVERY ?? 4000)
let n = 0
const timer =
  every > 0
    ? setInterval(() => {
        const orderId = `${Date.now().toString(36)}-${++n}`
        engine
          .trigger(fulfilment, { orderId, item: 'teapot', quantity: 1 + (n % 4) }, { id: `order:${orderId}` })
          .catch((e) => console.error(e))
      }, every)
    : undefined

const shutdown = async () => {
  clearInterval(timer)
  await new Promise((resolve) => server.close(resolve))
  await engine.stop()
  await store.close?.()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown())
process.once('SIGTERM', () => void shutdown())
