import {
  createEngine,
  type Datastore,
  DoSdkError,
  type Duration,
  type Engine,
  ErrorCodes,
  type Logger,
  ValidationError,
} from '@do-sdk/core'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { z } from 'zod'
import { type EmailTransport, makeSignupWorkflow, signupInput, signupRunId } from './onboarding.js'

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The Datastore (a `sqliteStore` in production, a `memoryStore` is fine for a try-out). */
  store: Datastore
  /** Sends the emails. @default prints them on the logger */
  transport?: EmailTransport
  /** Base URL of the app, for the links in emails (a function when it is known only once listening). @default 'http://localhost:3000' */
  publicUrl?: string | (() => string)
  /** @default '3d' */
  clickTimeout?: Duration
  /** @default '1h' */
  activationDelay?: Duration
  /** A stable id lets a restarted process take its runs back at once instead of after the lease. @default random */
  engineId?: string
  logger?: Logger
}

const webhookBody = z.object({ runId: z.string().min(1) })

/** Thrown by the routes with the HTTP status to answer. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The Express app with the engine embedded. The caller starts the engine and the server (see
 * `serve` in server.ts); the routes only talk to the engine.
 */
export const createApp = (options: AppOptions): { app: Express; engine: Engine } => {
  const logger = options.logger ?? console
  const transport: EmailTransport =
    options.transport ??
    (async (email) => {
      logger.info(`[email] to ${email.to}: ${email.subject}\n${email.text}`)
      return { messageId: `dev-${email.idempotencyKey}` }
    })
  const signup = makeSignupWorkflow({
    transport,
    publicUrl: options.publicUrl ?? 'http://localhost:3000',
    clickTimeout: options.clickTimeout,
    activationDelay: options.activationDelay,
  })
  const engine = createEngine({ store: options.store, workflows: [signup], engineId: options.engineId, logger: options.logger })

  const app = express()
  app.use(express.json({ limit: '16kb' }))

  // Express 5 forwards a rejected promise from an async handler to the error handler below.
  app.post('/signup', async (req, res) => {
    const parsed = signupInput.safeParse(req.body ?? {})
    if (!parsed.success) {
      throw new ValidationError(
        'body of POST /signup',
        parsed.error.issues.map((i) => ({
          path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
          message: i.message,
          code: i.code,
        })),
      )
    }
    // The run id is derived from the email: a second signup (a double click, a retried request)
    // gets the run the first one started, and nothing runs twice.
    const run = await engine.trigger(signup, parsed.data, { id: signupRunId(parsed.data.email) })
    const info = await engine.getRun(run.id)
    res
      .status(202)
      .location(`/runs/${encodeURIComponent(run.id)}`)
      .json({ runId: run.id, status: info.status })
  })

  // The email provider calls this when the link in the welcome email is clicked. Providers retry
  // on any non-2xx answer, so a click on a finished run is acknowledged (200), not refused, and the
  // body says it was not delivered.
  app.post('/webhooks/email-clicked', async (req, res) => {
    // A missing or malformed run id is a 400 here: never turned into a string like "undefined".
    const parsed = webhookBody.safeParse({ runId: req.body?.runId ?? req.query.runId })
    if (!parsed.success) throw new HttpError(400, 'Give the run id as {"runId": "…"} in the body or as ?runId=')
    const { runId } = parsed.data
    // signal() answers for itself: true when stored for the run, false when the run had already
    // finished (nothing stored). Checking the status first and signalling after would race with the
    // run finishing in between, and answer "delivered" for a signal nobody will ever take.
    if (await engine.signal(runId, 'email.clicked', { at: Date.now() })) {
      res.status(202).json({ runId, delivered: true })
      return
    }
    const run = await engine.getRun(runId)
    res.status(200).json({ runId, delivered: false, reason: `run is ${run.status}` })
  })

  app.get('/runs/:id', async (req, res) => {
    res.json(await engine.getRun(req.params.id))
  })

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such route' } })
  })
  app.use(errorHandler(logger))
  return { app, engine }
}

/** Maps do-sdk errors to HTTP answers; everything unexpected is a logged 500 without details. */
const errorHandler =
  (logger: Logger): ErrorRequestHandler =>
  (error, _req, res, _next) => {
    if (error instanceof HttpError) {
      res.status(error.status).json({ error: { code: 'BAD_REQUEST', message: error.message } })
    } else if (DoSdkError.hasCode(error, ErrorCodes.VALIDATION)) {
      const { issues } = error as ValidationError
      res.status(400).json({ error: { code: error.code, message: error.message, issues } })
    } else if (DoSdkError.hasCode(error, ErrorCodes.RUN_NOT_FOUND)) {
      res.status(404).json({ error: { code: error.code, message: error.message } })
    } else if (DoSdkError.hasCode(error, ErrorCodes.INVALID_ARGUMENT)) {
      res.status(400).json({ error: { code: error.code, message: error.message } })
    } else if (DoSdkError.hasCode(error, ErrorCodes.ENGINE_STATE)) {
      res.status(503).json({ error: { code: error.code, message: 'Shutting down, try again' } })
    } else if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      // body-parser: malformed JSON, a body over the limit…
      res.status(error.status).json({ error: { code: 'BAD_REQUEST', message: error.message } })
    } else {
      logger.error('Unhandled error in a route', { error })
      res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } })
    }
  }
