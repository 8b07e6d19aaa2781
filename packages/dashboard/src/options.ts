import type { IncomingMessage, ServerResponse } from 'node:http'
import { consoleLogger, type Engine, InvalidArgumentError, type Logger, type Workflow } from '@do-sdk/core'

/** What the caller of one request may do: `read` every GET (pages, assets, the JSON API), `write` every POST. */
export interface DashboardAccess {
  read: boolean
  write: boolean
}

/** The second argument of {@link DashboardOptions.auth}. */
export interface AuthContext {
  /**
   * The node:http request and response, when the request came through `handler.node` (Express and
   * Fastify put their session or user on it: `(context.node?.req as any).user`).
   */
  node?: { req: IncomingMessage; res: ServerResponse }
}

/**
 * Decides, for each request, whether its caller may read and whether it may write. Anything but
 * `true` counts as `false`; a throwing or rejecting `auth` refuses the request (500, logged).
 */
export type DashboardAuth = (request: Request, context: AuthContext) => DashboardAccess | Promise<DashboardAccess>

/** Options of {@link dashboard}. */
export interface DashboardOptions {
  /** The engine whose runs the dashboard shows (it only uses the engine's public methods). */
  engine: Engine
  /**
   * The path the dashboard is mounted at, e.g. `'/admin/runs'` (`'/'` or `''` for the root). Requests
   * outside it get a 404 from the Fetch handler, and `next()` from `handler.node` when given one.
   */
  basePath: string
  /**
   * Who may read and who may write. Until it is given, every request is refused (403): mounting the
   * dashboard never opens a door by mistake.
   * @example auth: (request) => { const user = sessionOf(request); return { read: !!user, write: user?.role === 'admin' } }
   */
  auth?: DashboardAuth
  /**
   * Workflows to list in the Workflows view (with the JSON Schemas of their input, state, output and
   * declared signals); their declared signals are offered in the signal form. The engine does not
   * list its workflows itself, so pass the same list as to `createEngine`. @default []
   */
  workflows?: Workflow[]
  /**
   * Origins (`https://admin.example.com`) whose pages may POST besides the dashboard's own, e.g. when a
   * proxy in front rewrites the Host header. @default [] (same host only)
   */
  trustedOrigins?: string[]
  /** How often the pages refresh what they show, ms (`0`: never). @default 2000 */
  refreshInterval?: number
  /** Where refused `auth` calls and unexpected errors are logged. @default the console at `DO_SDK_LOG` level */
  logger?: Logger
}

/** The options once checked: what the handler works with. */
export interface ResolvedOptions {
  engine: Engine
  /** '' for the root, else '/a/b' without a trailing slash. */
  base: string
  auth?: DashboardAuth
  workflows: Workflow[]
  trustedOrigins: Set<string>
  refreshInterval: number
  logger: Logger
}

const PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*\/?$/

const fail = (message: string): never => {
  throw new InvalidArgumentError(`[do-sdk] [dashboard] ${message}`)
}

/** Checks the options of `dashboard()`; throws InvalidArgumentError naming the option. */
export const resolveOptions = (options: DashboardOptions): ResolvedOptions => {
  if (typeof options !== 'object' || options === null) fail('dashboard() needs an options object { engine, basePath, auth }')
  const { engine, basePath, auth, workflows = [], trustedOrigins = [], refreshInterval = 2000 } = options
  if (typeof engine !== 'object' || engine === null || typeof engine.getRun !== 'function' || typeof engine.listRuns !== 'function')
    fail('Missing required option "engine" (the engine createEngine returned)')
  if (basePath === undefined) fail(`Missing required option "basePath" (the path the dashboard is mounted at, e.g. '/admin/runs')`)
  if (typeof basePath !== 'string' || !PATH.test(basePath))
    fail(`Option "basePath" must be a URL path such as '/admin/runs' (or '/' for the root), got ${JSON.stringify(basePath)}`)
  if (auth !== undefined && typeof auth !== 'function') fail('Option "auth" must be a function (request) => ({ read, write })')
  if (!Array.isArray(workflows) || workflows.some((w) => typeof w !== 'object' || w === null || w.kind !== 'workflow'))
    fail('Option "workflows" must be an array of workflows made by workflow.create')
  if (!Array.isArray(trustedOrigins)) fail('Option "trustedOrigins" must be an array of origins')
  const origins = new Set<string>()
  for (const o of trustedOrigins) {
    let parsed: URL | undefined
    try {
      parsed = new URL(o)
    } catch {}
    if (!parsed || parsed.origin === 'null' || parsed.origin !== o.replace(/\/$/, ''))
      fail(
        `Option "trustedOrigins" holds ${JSON.stringify(o)}: give origins like 'https://admin.example.com' (scheme, host, port; no path)`,
      )
    origins.add((parsed as URL).origin)
  }
  if (typeof refreshInterval !== 'number' || !Number.isInteger(refreshInterval) || refreshInterval < 0)
    fail(`Option "refreshInterval" must be an integer number of ms >= 0, got ${String(refreshInterval)}`)
  return {
    engine,
    base: basePath.replace(/\/+$/, ''),
    auth,
    workflows,
    trustedOrigins: origins,
    refreshInterval,
    logger: options.logger ?? consoleLogger(),
  }
}
