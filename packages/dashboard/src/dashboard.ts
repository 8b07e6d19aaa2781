import type { ActionDescription } from '@do-sdk/core'
import { describeWorkflows } from './catalog.js'
import { clientAssets } from './client-bundle.js'
import { COMMANDS, type Command, runCommand } from './commands.js'
import { toDisplay } from './json.js'
import { isInside, type NodeHandler, toNodeHandler } from './node.js'
import { type AuthContext, type DashboardAccess, type DashboardOptions, type ResolvedOptions, resolveOptions } from './options.js'
import { FAVICON, renderPage } from './page.js'
import { countByStatus, listOptions, runDetail, summary } from './queries.js'
import { readJsonBody } from './request-body.js'
import { asset, errorResponse, html, json, refusal, text } from './respond.js'
import { runScheduleCommand, SCHEDULE_COMMANDS, type ScheduleCommand } from './schedule-commands.js'
import { accessOf, csrfCookie, csrfRefusal, csrfSetCookie, newCsrfToken, permissionRefusal } from './security.js'

/** The dashboard: a Fetch handler, with `.node` for node:http, Express and Fastify. */
export interface DashboardHandler {
  (request: Request): Promise<Response>
  /** The same handler for node:http `(req, res)` and Express/Connect `(req, res, next)` (see docs/dashboard.md for Fastify). */
  readonly node: NodeHandler
}

/** A run or schedule id as the engine takes it: the one path segment after `api/runs/` or `api/schedules/`, percent-decoded. */
const decodeSegment = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

interface Ctx {
  o: ResolvedOptions
  request: Request
  url: URL
  access: DashboardAccess
}

/** The CSRF token of the request's cookie, or a new one with the Set-Cookie header that stores it. */
const csrfFor = (ctx: Ctx): { token: string; setCookie?: string } => {
  const token = csrfCookie(ctx.request)
  if (token) return { token }
  const fresh = newCsrfToken()
  return { token: fresh, setCookie: csrfSetCookie(fresh, ctx.o.base, ctx.url.protocol === 'https:') }
}

/** `engine.schedules`, when this engine has them (an engine without them shows none). */
interface SchedulesApi {
  list(options?: { limit?: number; cursor?: string }): Promise<{ schedules: unknown[]; nextCursor?: string } | unknown[]>
}

const schedulesOf = async (ctx: Ctx) => {
  const schedules = (ctx.o.engine as { schedules?: Partial<SchedulesApi> }).schedules
  if (!schedules || typeof schedules.list !== 'function') return { supported: false, schedules: [] }
  const cursor = ctx.url.searchParams.get('cursor') || undefined
  const page = await schedules.list({ limit: 100, ...(cursor ? { cursor } : {}) })
  if (Array.isArray(page)) return { supported: true, schedules: page.map((s) => toDisplay(s)) }
  return { supported: true, schedules: page.schedules.map((s) => toDisplay(s)), nextCursor: page.nextCursor }
}

const readRoutes: Record<string, (ctx: Ctx) => Promise<Response>> = {
  '/api/session': async (ctx) => {
    const { token, setCookie } = csrfFor(ctx)
    return json(
      200,
      { read: ctx.access.read, write: ctx.access.write, csrfToken: token },
      setCookie ? { 'set-cookie': setCookie } : undefined,
    )
  },
  '/api/runs': async (ctx) => {
    const { runs, nextCursor } = await ctx.o.engine.listRuns(listOptions(ctx.url.searchParams))
    return json(200, { runs: runs.map(summary), nextCursor })
  },
  '/api/counts': async (ctx) => json(200, await countByStatus(ctx.o.engine, ctx.url.searchParams.get('workflowId') || undefined)),
  '/api/workflows': async (ctx) => json(200, { workflows: describeWorkflows(ctx.o.workflows) }),
  '/api/actions': async (ctx) => {
    const actions: ActionDescription[] = ctx.o.engine.actions()
    return json(200, { actions: [...actions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) })
  },
  '/api/schedules': async (ctx) => json(200, await schedulesOf(ctx)),
}

/** `['', 'api', 'runs', id, command]` of a run command, or the same under `schedules` for a schedule command. */
const isRunCommand = (parts: string[]) =>
  parts.length === 5 && parts[1] === 'api' && parts[2] === 'runs' && COMMANDS.includes(parts[4] as Command)
const isScheduleCommand = (parts: string[]) =>
  parts.length === 5 && parts[1] === 'api' && parts[2] === 'schedules' && SCHEDULE_COMMANDS.includes(parts[4] as ScheduleCommand)
const isCommandPath = (parts: string[]) => isRunCommand(parts) || isScheduleCommand(parts)

const get = async (ctx: Ctx, rel: string): Promise<Response> => {
  if (rel === '/' || rel === '') {
    const { token, setCookie } = csrfFor(ctx)
    const { version } = await clientAssets()
    const page = renderPage({
      base: ctx.o.base,
      csrfToken: token,
      write: ctx.access.write,
      refreshInterval: ctx.o.refreshInterval,
      version,
    })
    return html(page, setCookie)
  }
  if (rel === '/assets/dashboard.js') return asset('text/javascript; charset=utf-8', (await clientAssets()).js)
  if (rel === '/assets/dashboard.css') return asset('text/css; charset=utf-8', (await clientAssets()).css)
  if (rel === '/assets/favicon.svg') return asset('image/svg+xml', FAVICON)
  const route = readRoutes[rel]
  if (route) return route(ctx)
  const parts = rel.split('/')
  if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'runs') {
    const id = decodeSegment(parts[3] as string)
    if (id === undefined) return json(400, { error: { code: 'BAD_REQUEST', message: 'Malformed run id in the path' } })
    return json(200, await runDetail(ctx.o.engine, id))
  }
  if (isCommandPath(parts)) return json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Commands take POST' } }, { allow: 'POST' })
  return rel.startsWith('/api/') ? json(404, { error: { code: 'NOT_FOUND', message: 'No such API route' } }) : text(404, 'Not found\n')
}

const post = async (ctx: Ctx, rel: string): Promise<Response> => {
  const parts = rel.split('/')
  if (!isCommandPath(parts))
    return json(404, {
      error: {
        code: 'NOT_FOUND',
        message: 'No such command (POST api/runs/:id/signal|cancel|retry|fork or api/schedules/:id/pause|resume|trigger)',
      },
    })
  const what = parts[2] === 'runs' ? 'run' : 'schedule'
  const id = decodeSegment(parts[3] as string)
  if (id === undefined) return json(400, { error: { code: 'BAD_REQUEST', message: `Malformed ${what} id in the path` } })
  const body = await readJsonBody(ctx.request)
  if (body instanceof Response) return body
  if (what === 'schedule') return json(200, await runScheduleCommand(ctx.o.engine, id, parts[4] as ScheduleCommand))
  return json(200, await runCommand(ctx.o.engine, id, parts[4] as Command, body))
}

/** Serves one request: the page and assets, the JSON API, and the commands. */
const serve = async (o: ResolvedOptions, request: Request, context: AuthContext): Promise<Response> => {
  let url: URL
  try {
    url = new URL(request.url)
  } catch {
    return text(400, 'Bad request URL\n')
  }
  if (!isInside(o.base, url.pathname)) return text(404, 'Not found\n')
  const rel = url.pathname.slice(o.base.length)
  const api = rel.startsWith('/api/')
  const method = request.method.toUpperCase()
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    const body = { error: { code: 'METHOD_NOT_ALLOWED', message: 'The dashboard takes GET, HEAD and POST' } }
    return json(405, body, { allow: 'GET, HEAD, POST' })
  }
  const access = await accessOf(o, request, context)
  if ('status' in access) return refusal(access, api)
  const denied = permissionRefusal(access, method) ?? (method === 'POST' ? csrfRefusal(o, request, url) : undefined)
  if (denied) return refusal(denied, api || method === 'POST')
  const ctx: Ctx = { o, request, url, access }
  try {
    if (method === 'POST') return await post(ctx, rel)
    const response = await get(ctx, rel)
    return method === 'HEAD' ? new Response(null, { status: response.status, headers: response.headers }) : response
  } catch (error) {
    return errorResponse(error, o.logger)
  }
}

/**
 * The run console of an engine, as one Fetch handler mounted at `basePath`: runs, one run's steps,
 * workflows, actions and schedules, and the commands signal, cancel, retry and fork (runs) and
 * pause, resume and trigger (schedules). Until `auth` is given,
 * every request is refused.
 *
 * @example
 * ```ts
 * const runs = dashboard({ engine, basePath: '/admin/runs', auth: (req) => ({ read: isAdmin(req), write: isAdmin(req) }) })
 * app.use('/admin/runs', runs.node)           // Express
 * export const GET = runs, POST = runs         // a Next.js route handler
 * ```
 * @throws InvalidArgumentError on a bad option, naming it
 */
export const dashboard = (options: DashboardOptions): DashboardHandler => {
  const o = resolveOptions(options)
  if (!o.auth) o.logger.warn('[dashboard] no "auth" option: every request is refused until one is given')
  const handler = (request: Request) => serve(o, request, {})
  return Object.assign(handler, { node: toNodeHandler(o, (request, context) => serve(o, request, context)) })
}
