import { type Action, createEngine, InvalidArgumentError, memoryStore, workflow } from '@do-sdk/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type ActionRunner, BlockedAddressError, type HttpResponse, httpActions, nextLink, paginate } from '../src/index.js'
import { json, startServer, type TestServer } from './server.js'

const ITEMS = Array.from({ length: 7 }, (_, i) => i + 1)
const PAGE = 3

let server: TestServer
let http: ReturnType<typeof httpActions>
beforeAll(async () => {
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const page = Number(url.searchParams.get('page') ?? '1')
    const items = ITEMS.slice((page - 1) * PAGE, page * PAGE)
    const more = page * PAGE < ITEMS.length
    switch (url.pathname) {
      case '/link': {
        const links = [`</link?page=${ITEMS.length}>; rel="last"`]
        if (more) links.unshift(`<${server.origin}/link?page=${page + 1}&per=3>; rel="next"`)
        return json(res, 200, items, { link: links.join(', '), 'x-other': 'o' })
      }
      case '/body':
        return json(res, 200, { items, links: { next: more ? `/body?page=${page + 1}` : null } })
      case '/cursor': {
        const after = Number(url.searchParams.get('after') ?? '0')
        const slice = ITEMS.filter((i) => i > after).slice(0, Number(url.searchParams.get('limit')))
        const last = slice.at(-1)
        return json(res, 200, { data: slice, meta: { next: last !== undefined && last < ITEMS.length ? String(last) : '' } })
      }
      case '/loop':
        return json(res, 200, { items: [1], next: '/loop?page=2' })
      case '/text':
        return res.end('plain text')
    }
  })
  http = httpActions({ allow: ['127.0.0.1'], baseUrl: server.origin, retry: false })
})
afterAll(async () => {
  await http.close()
  await server.close()
})

/** A runner that records every call, the way a workflow's step journals each page. */
const recording = () => {
  const inputs: unknown[] = []
  const runner: ActionRunner = {
    run: (action, input) => {
      inputs.push(input)
      return action.execute(input)
    },
  }
  return { runner, inputs }
}
const collect = async (pages: AsyncIterable<HttpResponse>) => {
  const out: HttpResponse[] = []
  for await (const page of pages) out.push(page)
  return out
}

describe('paginate', () => {
  // docs/packs/http.md: "the `rel="next"` target of the `Link` header (the pack asks for that header itself)"
  it('link-header: follows rel="next", asking only for the link header', async () => {
    const { runner, inputs } = recording()
    const pages = await collect(paginate(runner, http.get, { url: '/link' }, { strategy: 'link-header' }))
    expect(pages.flatMap((p) => p.body as number[])).toEqual(ITEMS)
    expect(inputs).toEqual([
      { url: '/link', includeHeaders: ['link'] },
      { url: `${server.origin}/link?page=2&per=3`, includeHeaders: ['link'], query: undefined },
      { url: `${server.origin}/link?page=3&per=3`, includeHeaders: ['link'], query: undefined },
    ])
    expect(Object.keys(pages[0]?.headers ?? {})).toEqual(['link'])
  })

  // docs/packs/http.md: "a URL at a dot path of the JSON body (`links.next`, `pages.0.next`), relative to the page's URL"
  it('body-next-url: reads the dot path, resolves relative URLs, stops on null', async () => {
    const { runner, inputs } = recording()
    const pages = await collect(
      paginate(runner, http.get, { url: '/body', query: { page: 1 } }, { strategy: 'body-next-url', nextUrlPath: 'links.next' }),
    )
    expect(pages.flatMap((p) => (p.body as { items: number[] }).items)).toEqual(ITEMS)
    expect(inputs).toHaveLength(3)
    expect(pages.map((p) => p.url)).toEqual([
      `${server.origin}/body?page=1`,
      `${server.origin}/body?page=2`,
      `${server.origin}/body?page=3`,
    ])
  })

  // docs/packs/http.md: "sent back in the query parameter `cursorParam`; other parameters are kept"
  it('cursor: sends the cursor back in the query, keeping the other parameters', async () => {
    const { runner, inputs } = recording()
    const pages = await collect(
      paginate(
        runner,
        http.request,
        { method: 'GET', url: '/cursor', query: { limit: 3 } },
        { strategy: 'cursor', cursorPath: 'meta.next', cursorParam: 'after' },
      ),
    )
    expect(pages.flatMap((p) => (p.body as { data: number[] }).data)).toEqual(ITEMS)
    expect(inputs.map((i) => (i as { query: unknown }).query)).toEqual([{ limit: 3 }, { limit: 3, after: '3' }, { limit: 3, after: '6' }])
  })

  // docs/packs/http.md: "after `maxPages` (default 100, no error), or when a next URL or cursor repeats"
  it('stops at maxPages, and on a next URL it has already seen', async () => {
    const limited = await collect(paginate(recording().runner, http.get, { url: '/link' }, { strategy: 'link-header', maxPages: 2 }))
    expect(limited).toHaveLength(2)
    const looped = await collect(
      paginate(recording().runner, http.get, { url: '/loop' }, { strategy: 'body-next-url', nextUrlPath: 'next' }),
    )
    expect(looped).toHaveLength(2)
  })

  it('refuses bad options, and a body that is not JSON', async () => {
    const run = (options: never) => collect(paginate(recording().runner, http.get, { url: '/body' }, options))
    await expect(run({ strategy: 'cursor', cursorPath: 'a' } as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(run({ strategy: 'link-header', maxPages: 0 } as never)).rejects.toThrow(/maxPages must be an integer >= 1/)
    await expect(run({ strategy: 'pages' } as never)).rejects.toThrow(/unknown strategy "pages"/)
    const text = paginate(recording().runner, http.get, { url: '/text' }, { strategy: 'cursor', cursorPath: 'n', cursorParam: 'c' })
    await expect(collect(text)).rejects.toThrow(/has a text body, not JSON/)
  })

  it('parses Link headers', () => {
    expect(nextLink('<https://a/x?p=2>; rel="next", <https://a/x?p=9>; rel="last"')).toBe('https://a/x?p=2')
    expect(nextLink('<https://a/?q=a,b>; rel="prev", <https://a/?q=c,d>; rel=next')).toBe('https://a/?q=c,d')
    expect(nextLink(['<https://a/1>; rel="first"', '<https://a/2>; title="x"; rel="last next"'])).toBe('https://a/2')
    expect(nextLink('<https://a/1>; rel="prev"')).toBeUndefined()
    expect(nextLink(undefined)).toBeUndefined()
  })

  // docs/packs/http.md: "every page is its own durable step"
  it('each page is its own durable step in a workflow', async () => {
    const collectAll = workflow.create({
      id: 'collect-all',
      input: z.object({ url: z.string() }),
      async run({ input, step }) {
        const items: number[] = []
        for await (const page of paginate(step, http.get, { url: input.url }, { strategy: 'link-header' }))
          items.push(...(page.body as number[]))
        const saved = await step.run(http.post, { url: '/body', body: { type: 'json', data: items }, idempotencyKey: true })
        return { items, saved: saved.status }
      },
    })
    const engine = createEngine({ store: memoryStore(), workflows: [collectAll], plugins: [http.plugin] })
    await engine.start()
    try {
      const run = await engine.trigger(collectAll, { url: '/link' }, { id: 'collect:1' })
      expect(await run.result()).toEqual({ items: ITEMS, saved: 200 })
      const info = await engine.getRun(run.id)
      expect(info.steps.map((s) => [s.id, s.status])).toEqual([
        ['http.get#1', 'completed'],
        ['http.get#2', 'completed'],
        ['http.get#3', 'completed'],
        ['http.post#1', 'completed'],
      ])
      // The idempotency key of a step is runId:stepId, the same on every attempt and after a restart.
      expect(server.requests.at(-1)?.headers['idempotency-key']).toBe('collect:1:http.post#1')
    } finally {
      await engine.stop()
    }
  })
})

// Type-level: both runners fit, with no cast.
const _standalone: ActionRunner = { run: (a, i) => a.execute(i) }
const _typed = (runner: ActionRunner, a: Action<{ url: string }, HttpResponse>) =>
  paginate(runner, a, { url: '/' }, { strategy: 'link-header' })

describe('next pages on other hosts', () => {
  // docs/packs/http.md: "A next URL from `Link` or the body may point to another host: it goes through the same SSRF policy, and credentials are sent to it only if it is the auth origin."
  it('a next link to a refused address is blocked, and one to another allowed origin gets no credentials', async () => {
    const other = await startServer((req, res) => json(res, 200, { auth: req.headers.authorization ?? null, next: null }))
    const front = await startServer((req, res) => {
      if (req.url === '/to-internal') return json(res, 200, { next: `http://0x7f.1:${other.port}/internal` })
      json(res, 200, { next: `${other.origin}/page2` })
    })
    const api = httpActions({
      allow: [`127.0.0.1:${front.port}`],
      baseUrl: front.origin,
      auth: { type: 'bearer', token: 'tok_SECRET' },
      retry: false,
    })
    const run: ActionRunner = { run: (a, i) => a.execute(i) }
    const blocked = collect(paginate(run, api.get, { url: '/to-internal' }, { strategy: 'body-next-url', nextUrlPath: 'next' }))
    await expect(blocked).rejects.toBeInstanceOf(BlockedAddressError)
    expect(other.connections).toBe(0)
    await api.close()

    const open = httpActions({ allow: ['127.0.0.1'], baseUrl: front.origin, auth: { type: 'bearer', token: 'tok_SECRET' }, retry: false })
    const pages = await collect(paginate(run, open.get, { url: '/first' }, { strategy: 'body-next-url', nextUrlPath: 'next' }))
    expect(pages.map((p) => p.url)).toEqual([`${front.origin}/first`, `${other.origin}/page2`])
    expect(front.requests.at(-1)?.headers.authorization).toBe('Bearer tok_SECRET')
    expect(other.requests.at(-1)?.headers.authorization).toBeUndefined()
    expect(pages[1]?.body).toEqual({ auth: null, next: null })
    await open.close()
    await Promise.all([other.close(), front.close()])
  })
})
