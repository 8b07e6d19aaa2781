import { once } from 'node:events'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { action, createEngine, type Engine, memoryStore, type RunStatus, silentLogger, workflow } from '@do-sdk/core'
import { z } from 'zod'

/** Switch for the `flaky` workflow: while true, its `charge` step throws. */
export const flakiness = { broken: true }

export const chargeCard = action.create({
  id: 'charge-card',
  description: 'Charges a card (a test double).',
  input: z.object({ amount: z.number() }),
  output: z.object({ chargeId: z.string() }),
  retry: false,
  execute: async ({ amount }) => {
    if (flakiness.broken) throw new Error(`card declined for ${amount}`)
    return { chargeId: `ch_${amount}` }
  },
})

export const flaky = workflow.create({
  id: 'flaky',
  description: 'Charges a card; fails while the card is declined.',
  input: z.object({ amount: z.number(), apiKey: z.string().optional() }),
  async run({ input, step }) {
    const first = await step.run('prepare', () => ({ prepared: true }))
    const charge = await step.run(chargeCard, { amount: input.amount })
    return { ...first, ...charge }
  },
})

export const approval = workflow.create({
  id: 'approval',
  signals: { approve: z.object({ note: z.string() }) },
  async run({ step }) {
    const got = await step.waitForEvent('approve')
    return { approved: got?.note ?? null }
  },
})

/** Takes any signal (no declared signals): `echo` returns the payload it received. */
export const echo = workflow.create({
  id: 'echo',
  async run({ step }) {
    return { got: await step.waitForEvent('message') }
  },
})

export const child = workflow.create({
  id: 'child',
  async run({ step }) {
    return step.run('work', () => 'done')
  },
})

export const parent = workflow.create({
  id: 'parent',
  async run({ step }) {
    return { child: await step.invoke(child, {}, { id: 'kid' }) }
  },
})

export const allWorkflows = [flaky, approval, echo, child, parent]

/** A started engine on a memory store, with secrets redacted like a real app would. */
export const startEngine = async (): Promise<Engine> => {
  const engine = createEngine({
    store: memoryStore(),
    workflows: allWorkflows,
    actions: [chargeCard],
    logger: silentLogger,
    redact: ['apiKey'],
  })
  await engine.start()
  return engine
}

/** Reads the run until it has one of `statuses` (polling the engine, not sleeping a guessed length). */
export const waitForStatus = async (engine: Engine, runId: string, ...statuses: RunStatus[]) => {
  const deadline = Date.now() + 25_000
  for (;;) {
    const run = await engine.getRun(runId).catch(() => undefined)
    if (run && statuses.includes(run.status)) return run
    if (Date.now() > deadline) throw new Error(`run ${runId} never reached ${statuses.join('/')} (it is ${run?.status ?? 'missing'})`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A node:http server on 127.0.0.1 and a free port. */
export const listen = async (listener: RequestListener | Server): Promise<{ url: string; close: () => Promise<void> }> => {
  const server = typeof listener === 'function' ? createServer(listener) : listener
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

/** A JSON body, untyped (the tests check its shape). */
export const jsonOf = (res: Response): Promise<any> => res.json()

/** The page's CSRF token and cookie, as a browser would keep them. */
export const openPage = async (pageUrl: string, headers: Record<string, string> = {}) => {
  const res = await fetch(pageUrl, { headers })
  const html = await res.text()
  const token = /data-csrf="([^"]*)"/.exec(html)?.[1] ?? ''
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string
  return { res, html, token, cookie }
}
