import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Engine } from '@do-sdk/core'
import type { Express } from 'express'

/** A running app: its URL and a graceful `close`. */
export interface Serving {
  server: Server
  url: string
  /** Stops taking requests, lets the open ones finish, then stops the engine (in-flight steps drain). Idempotent. */
  close(): Promise<void>
}

/**
 * Starts the engine (which resumes every run that was in flight), then the HTTP server. The engine
 * comes first so no request reaches a route before it can trigger or signal.
 */
export const serve = async (app: Express, engine: Engine, options: { port: number; host?: string }): Promise<Serving> => {
  await engine.start()
  const host = options.host ?? '127.0.0.1'
  let server: Server
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(options.port, host, (error?: Error) => (error ? reject(error) : resolve(s)))
    })
  } catch (error) {
    await engine.stop()
    throw error
  }
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  const close = () => {
    // Requests still open get their answer; then the engine parks the runs it holds so the next
    // process takes them at once.
    closing ??= new Promise<void>((resolve) => server.close(() => resolve())).then(() => engine.stop())
    return closing
  }
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close }
}
