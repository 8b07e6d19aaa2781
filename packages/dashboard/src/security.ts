import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AuthContext, DashboardAccess, ResolvedOptions } from './options.js'

/** Name of the CSRF cookie (double submit: its value must come back in the `x-csrf-token` header). */
export const CSRF_COOKIE = 'do_sdk_dashboard_csrf'
/** The header a POST carries the CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token'

/**
 * Sent with every answer. The pages load only the dashboard's own script and style sheet: no inline
 * script or style, no other origin, no frames, and no form posting elsewhere.
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/** A refusal: the status, a stable code and a sentence that says what to do. */
export interface Refusal {
  status: number
  code: string
  message: string
}

const refuse = (status: number, code: string, message: string): Refusal => ({ status, code, message })

/** Runs `auth` for a request; fails closed (no auth: nothing; a throw: nothing, logged). */
export const accessOf = async (options: ResolvedOptions, request: Request, context: AuthContext): Promise<DashboardAccess | Refusal> => {
  if (!options.auth)
    return refuse(
      403,
      'AUTH_NOT_CONFIGURED',
      'The do-sdk dashboard refuses every request until the app gives it an auth function: dashboard({ engine, basePath, auth: (request) => ({ read, write }) }).',
    )
  try {
    const got = await options.auth(request, context)
    return { read: got?.read === true, write: got?.write === true }
  } catch (error) {
    options.logger.error('[dashboard] the auth function threw: request refused', { error })
    return refuse(500, 'AUTH_FAILED', 'The auth function of the dashboard failed; the request was refused.')
  }
}

/** Whether the access allows the method (GET and HEAD read, POST writes). */
export const permissionRefusal = (access: DashboardAccess, method: string): Refusal | undefined => {
  if (method === 'POST') {
    return access.write ? undefined : refuse(403, 'FORBIDDEN', 'You may not change runs here (write access is needed).')
  }
  return access.read ? undefined : refuse(401, 'UNAUTHORIZED', 'You are not allowed to see the do-sdk dashboard: sign in first.')
}

/** The value of one cookie of the request, if it holds it once. */
const cookieOf = (request: Request, name: string): string | undefined => {
  const header = request.headers.get('cookie')
  if (!header) return undefined
  let found: string | undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    // Two cookies of that name (one tossed in by a sibling subdomain): trust neither.
    if (found !== undefined) return undefined
    found = part.slice(eq + 1).trim()
  }
  return found
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/

/** The CSRF token of the request's cookie, if well formed. */
export const csrfCookie = (request: Request): string | undefined => {
  const token = cookieOf(request, CSRF_COOKIE)
  return token !== undefined && TOKEN.test(token) ? token : undefined
}

/** A new random token (32 bytes, base64url). */
export const newCsrfToken = (): string => randomBytes(32).toString('base64url')

/**
 * The Set-Cookie header for the token: HttpOnly (the page carries a copy for its script), SameSite
 * Strict (no cross-site request carries it), scoped to the dashboard's path, Secure over https.
 */
export const csrfSetCookie = (token: string, base: string, secure: boolean): string =>
  `${CSRF_COOKIE}=${token}; Path=${base || '/'}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`

/**
 * Checks a POST: it must come from the dashboard's own origin (Sec-Fetch-Site and Origin, when the
 * browser sends them) and carry the token of its cookie in the `x-csrf-token` header.
 */
export const csrfRefusal = (options: ResolvedOptions, request: Request, url: URL): Refusal | undefined => {
  const site = request.headers.get('sec-fetch-site')
  const origin = request.headers.get('origin')
  const trusted = origin !== null && options.trustedOrigins.has(origin)
  if (site !== null && site !== 'same-origin' && !trusted)
    return refuse(403, 'CROSS_ORIGIN', `Cross-origin request refused (Sec-Fetch-Site: ${site}).`)
  if (origin !== null && !trusted) {
    let host: string | undefined
    try {
      host = new URL(origin).host
    } catch {}
    if (host !== url.host) return refuse(403, 'CROSS_ORIGIN', 'Cross-origin request refused (its Origin is not the dashboard).')
  }
  const cookie = csrfCookie(request)
  const sent = request.headers.get(CSRF_HEADER) ?? ''
  if (!cookie || sent.length !== cookie.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(cookie)))
    return refuse(403, 'CSRF', 'Missing or wrong CSRF token: reload the dashboard page and try again.')
  return undefined
}
