/**
 * The app as a process:
 *
 *   PORT=3000 DB_PATH=./do.db pnpm --filter @do-sdk/example-express-webhook start
 *
 * Env: PORT (default 3000), HOST (default 127.0.0.1), DB_PATH (default ./do.db), PUBLIC_URL,
 * ENGINE_ID (default the host name: a restarted process takes its runs back at once),
 * ACTIVATION_DELAY (default 1h), CLICK_TIMEOUT (default 3d).
 */
import { hostname } from 'node:os'
import { parseDuration } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { createApp } from './app.js'
import { serve } from './serve.js'

const env = process.env
const port = Number(env.PORT ?? 3000)
const host = env.HOST ?? '127.0.0.1'
// With PORT=0 the address is known only once listening (runs resumed during start see the configured one).
let listeningUrl: string | undefined
const store = sqliteStore({ path: env.DB_PATH ?? './do.db' })
const { app, engine } = createApp({
  store,
  publicUrl: () => env.PUBLIC_URL ?? listeningUrl ?? `http://${host}:${port}`,
  engineId: env.ENGINE_ID ?? `express-webhook-${hostname()}`,
  // Durations from the environment are parsed here, so a typo fails at start, naming the variable.
  activationDelay: parseDuration(env.ACTIVATION_DELAY ?? '1h', 'ACTIVATION_DELAY'),
  clickTimeout: parseDuration(env.CLICK_TIMEOUT ?? '3d', 'CLICK_TIMEOUT'),
})

const serving = await serve(app, engine, { port, host })
listeningUrl = serving.url
console.log(`listening on ${serving.url}`)

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`${signal}: closing the server, then stopping the engine`)
  // A second signal, or a drain that hangs, ends the process anyway.
  const force = setTimeout(() => process.exit(1), 15_000)
  force.unref()
  try {
    await serving.close()
    await store.close?.()
    console.log('stopped')
    process.exit(0)
  } catch (error) {
    console.error('shutdown failed', error)
    process.exit(1)
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
