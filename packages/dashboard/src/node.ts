import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuthContext, ResolvedOptions } from './options.js'
import { MAX_BODY } from './request-body.js'

/** node:http `(req, res)`, Express/Connect `(req, res, next)`. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void

type Serve = (request: Request, context: AuthContext) => Promise<Response>

/** What frameworks leave on the request: Express's path before mounting, a body a parser already read. */
interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string
  body?: unknown
}

/** Whether a URL path is the dashboard's (its base path or below). */
export const isInside = (base: string, pathname: string): boolean => base === '' || pathname === base || pathname.startsWith(`${base}/`)

/** Reads the request body, up to one byte past the limit (the handler answers 413 past it). */
const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY) return
      size += chunk.length
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })

/**
 * The body of a request a framework has already consumed (Express's `express.json()`, Fastify's
 * parsers leave the parsed value on `req.body`): the handler gets it back as JSON.
 */
const bodyOf = async (req: FrameworkRequest): Promise<Buffer | string> => {
  const consumed = req.readableEnded || (req as { _body?: boolean })._body === true
  if (consumed && req.body !== undefined) {
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) return req.body
    return JSON.stringify(req.body)
  }
  if (consumed) return ''
  return readBody(req)
}

/** An IncomingMessage as a Fetch Request (the URL from the Host header; the full path for Express mounts). */
const toRequest = async (req: FrameworkRequest, path: string): Promise<Request> => {
  const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true
  const url = new URL(path, `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`)
  const headers = new Headers()
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string
    // HTTP/2 pseudo-headers (:path…) are not headers of a Fetch Request.
    if (!name.startsWith(':')) headers.append(name, req.rawHeaders[i + 1] as string)
  }
  const method = (req.method ?? 'GET').toUpperCase()
  const body = method === 'GET' || method === 'HEAD' ? undefined : await bodyOf(req)
  if (typeof body === 'string' && body !== '' && !headers.has('content-type')) headers.set('content-type', 'application/json')
  return new Request(url, { method, headers, body: body === '' ? undefined : body })
}

/** Writes a Fetch Response to a ServerResponse (each Set-Cookie header on its own line). */
const writeResponse = async (response: Response, res: ServerResponse, method: string) => {
  res.statusCode = response.status
  for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value)
  const cookies = response.headers.getSetCookie()
  if (cookies.length) res.setHeader('set-cookie', cookies)
  const body = method === 'HEAD' ? undefined : Buffer.from(await response.arrayBuffer())
  res.end(body)
}

/**
 * `handler.node`: converts the node request to a Fetch Request, serves it, and writes the answer.
 * A path outside the base path goes to `next()` when there is one (404 otherwise).
 */
export const toNodeHandler =
  (o: ResolvedOptions, serve: Serve): NodeHandler =>
  (req, res, next) => {
    const path = (req as FrameworkRequest).originalUrl ?? req.url ?? '/'
    let pathname: string
    try {
      pathname = new URL(path, 'http://localhost').pathname
    } catch {
      pathname = ''
    }
    if (!isInside(o.base, pathname)) {
      if (next) return next()
      res.statusCode = 404
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('Not found\n')
      return
    }
    const method = (req.method ?? 'GET').toUpperCase()
    const handle = async () => {
      let request: Request
      try {
        request = await toRequest(req as FrameworkRequest, path)
      } catch {
        res.statusCode = 400
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.end('Bad request\n')
        return
      }
      await writeResponse(await serve(request, { node: { req, res } }), res, method)
    }
    handle().catch((error: unknown) => {
      if (next) return next(error)
      o.logger.error('[dashboard] could not answer a node:http request', { error })
      if (!res.headersSent) res.statusCode = 500
      res.end()
    })
  }
