import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** A request as the test server saw it. */
export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

export type Handler = (req: IncomingMessage & { body: Buffer }, res: ServerResponse, n: number) => unknown

/** A real node:http server on 127.0.0.1, port 0, that records every request and every connection. */
export interface TestServer {
  port: number
  /** `http://127.0.0.1:<port>` */
  origin: string
  requests: SeenRequest[]
  /** TCP connections accepted (a refused-after-connect request shows up here and not in `requests`). */
  connections: number
  handle(handler: Handler): void
  close(): Promise<void>
}

export const startServer = async (initial?: Handler): Promise<TestServer> => {
  let handler: Handler = initial ?? ((_req, res) => res.end('ok'))
  const sockets = new Set<Socket>()
  const state = { requests: [] as SeenRequest[], connections: 0 }
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
    try {
      await handler(Object.assign(req, { body }), res, state.requests.length)
    } catch (error) {
      res.statusCode = 500
      res.end(String(error))
    }
  })
  server.on('connection', (socket) => {
    state.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests
    },
    get connections() {
      return state.connections
    },
    handle(next) {
      handler = next
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Sends a JSON response. */
export const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(value))
}
