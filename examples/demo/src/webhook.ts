import { createServer, type Server } from 'node:http'

/**
 * The demo's local HTTP server:
 * - a real webhook: `POST /webhooks/email-clicked?run=<runId>` turns the email provider's click
 *   callback into `engine.signal(runId, 'email.clicked', …)`;
 * - a stand-in CRM API, `GET /crm/users/<id>`, that the workflow calls through the HTTP pack.
 */
export const startWebhook = async (
  /** Resolves `engine.signal`'s answer: false when the run had already finished (nothing stored). */
  onClick: (runId: string) => Promise<boolean>,
  port: number,
): Promise<{ server: Server; url: string; base: string }> => {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const crm = /^\/crm\/users\/([\w-]+)$/.exec(url.pathname)
    if (req.method === 'GET' && crm) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: crm[1], plan: 'pro', company: 'Acme Corp' }))
      return
    }
    if (req.method !== 'POST' || url.pathname !== '/webhooks/email-clicked') {
      res.writeHead(404).end('not found\n')
      return
    }
    const runId = url.searchParams.get('run')
    if (!runId) {
      res.writeHead(400).end('missing ?run=\n')
      return
    }
    try {
      const delivered = await onClick(runId)
      // A finished run is answered with a 2xx too (the provider must not retry), saying so.
      res
        .writeHead(delivered ? 202 : 200, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(delivered ? { delivered } : { delivered, reason: 'the run has already finished' })}\n`)
    } catch (error) {
      const notFound = (error as { code?: string }).code === 'ERR_RUN_NOT_FOUND'
      res
        .writeHead(notFound ? 404 : 400, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ error: (error as Error).message })}\n`)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' && port !== 0) server.listen(0, '127.0.0.1', resolve)
      else reject(e)
    })
    server.listen(port, '127.0.0.1', resolve)
  })
  const address = server.address()
  const actual = typeof address === 'object' && address ? address.port : port
  return { server, url: `http://127.0.0.1:${actual}/webhooks/email-clicked`, base: `http://127.0.0.1:${actual}` }
}
