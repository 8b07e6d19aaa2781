import type { IncomingMessage } from 'node:http'
import { createEngine, type Datastore, type Engine, type Logger } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { type ChargeFn, flakyGateway, makeOrderWorkflow, type OrderWorkflow, orderInput } from './orders.js'
import { loginPage, SESSION_COOKIE, safeNext, sessionIdOf, sessionStore, type User, type UserTable } from './sessions.js'

/** Options of {@link createApp}. */
export interface AppOptions {
  store: Datastore
  users: UserTable
  /** The payment gateway. @default one that declines 30% of the charges */
  charge?: ChargeFn
  /** Mark the session cookie Secure (behind https). @default false */
  secureCookies?: boolean
  logger?: Logger
}

/** A request with the signed-in user on it (set by the session middleware). */
type WithUser = IncomingMessage & { user?: User }

/**
 * The app: `/login` and `/logout`, `POST /orders` to start an order, and the dashboard at
 * `/admin/runs` behind the sign-in. Viewers may look; admins may also signal, cancel, retry and fork.
 */
export const createApp = (options: AppOptions): { app: Express; engine: Engine; fulfilment: OrderWorkflow } => {
  const { fulfilment, chargeCard } = makeOrderWorkflow(options.charge ?? flakyGateway(0.3))
  const engine = createEngine({ store: options.store, workflows: [fulfilment], actions: [chargeCard], logger: options.logger })
  const sessions = sessionStore(options.users)
  const runs = dashboard({
    engine,
    basePath: '/admin/runs',
    workflows: [fulfilment],
    // The session middleware below put the user on the node request: the dashboard asks it.
    auth: (_request, { node }) => {
      const user = (node?.req as WithUser | undefined)?.user
      return { read: user !== undefined, write: user?.role === 'admin' }
    },
  })

  const app = express()
  app.disable('x-powered-by')
  app.use((req: Request, _res, next) => {
    ;(req as WithUser).user = sessions.userOf(sessionIdOf(req.headers.cookie))
    next()
  })

  /** Not signed in: pages go to the sign-in form, everything else gets a 401. */
  const requireSignIn = (req: Request, res: Response, next: NextFunction) => {
    if ((req as WithUser).user) return next()
    if (req.method === 'GET' && !req.path.startsWith('/api/') && !req.path.startsWith('/assets/')) {
      res.redirect(302, `/login?next=${encodeURIComponent(req.originalUrl)}`)
      return
    }
    res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'Sign in at /login first' } })
  }

  app.get('/', (req, res) => {
    const user = (req as WithUser).user
    res.type('html').send(user ? '<a href="/admin/runs/">Runs</a>' : '<a href="/login">Sign in</a>')
  })

  app.get('/login', (req, res) => {
    res.set('content-security-policy', "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
    res.type('html').send(loginPage(safeNext(req.query.next)))
  })

  app.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    // A sign-in posted from another site would sign the browser into the attacker's account.
    const origin = req.headers.origin
    if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host}`) {
      res.status(403).type('text').send('Cross-origin sign-in refused')
      return
    }
    const { name, password, next } = (req.body ?? {}) as Record<string, unknown>
    const sid = typeof name === 'string' && typeof password === 'string' ? sessions.signIn(name, password) : undefined
    if (!sid) {
      res
        .status(401)
        .type('html')
        .send(loginPage(safeNext(next), 'Wrong name or password.'))
      return
    }
    const secure = options.secureCookies ? '; Secure' : ''
    res.set('set-cookie', `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax${secure}`)
    res.redirect(303, safeNext(next))
  })

  app.post('/logout', (req, res) => {
    sessions.signOut(sessionIdOf(req.headers.cookie))
    res.set('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
    res.redirect(303, '/login')
  })

  app.post('/orders', requireSignIn, express.json({ limit: '4kb' }), async (req, res) => {
    const parsed = orderInput.safeParse(req.body)
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'BAD_REQUEST', message: parsed.error.message } })
      return
    }
    const run = await engine.trigger(fulfilment, parsed.data, { id: `order:${parsed.data.orderId}` })
    res.status(202).json({ runId: run.id })
  })

  // The dashboard, behind the sign-in; its own auth then tells viewers from admins.
  app.use('/admin/runs', requireSignIn, runs.node)
  return { app, engine, fulfilment }
}
