import { type Action, InvalidArgumentError, NonRetryableError } from '@do-sdk/core'
import type { HttpResponse } from './schema.js'

/**
 * Anything that runs an action: a workflow's `step` (each page becomes its own durable step, replayed
 * from the journal after a restart), or `{ run: (action, input) => action.execute(input) }` standalone.
 */
export interface ActionRunner {
  run<I, O>(action: Action<I, O>, input: I): Promise<O>
}

/** The part of an HTTP action's input that pagination changes. */
export interface PageableInput {
  url: string
  query?: Record<string, string | number | boolean | null | (string | number | boolean)[]>
  includeHeaders?: boolean | string[]
}

interface CommonPaginateOptions {
  /** Stop after this many pages (the last one included), without error. @default 100 */
  maxPages?: number
}

/** How to find the next page. */
export type PaginateOptions = CommonPaginateOptions &
  (
    | {
        /** The `Link: <…>; rel="next"` response header (GitHub, GitLab…). */
        strategy: 'link-header'
      }
    | {
        /** A URL in the JSON body, absolute or relative to the page's URL. */
        strategy: 'body-next-url'
        /** Dot path to it, e.g. `links.next` or `pagination.0.next`. Missing, null or '' ends the pages. */
        nextUrlPath: string
      }
    | {
        /** A cursor in the JSON body, sent back as a query parameter (Stripe, Slack…). */
        strategy: 'cursor'
        /** Dot path to the cursor, e.g. `meta.next_cursor`. Missing, null or '' ends the pages. */
        cursorPath: string
        /** Query parameter that carries it, e.g. `starting_after`. */
        cursorParam: string
      }
  )

/** Reads a dot path (`a.b.0.c`) in a JSON value. */
export const readPath = (value: unknown, path: string): unknown => {
  let current = value
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/** The `rel="next"` target of a `Link` header, or `undefined`. */
export const nextLink = (header: string | string[] | undefined): string | undefined => {
  const text = Array.isArray(header) ? header.join(', ') : header
  if (!text) return undefined
  // Each link is `<uri>; param=value; …`; the URI may itself hold commas, the angle brackets delimit it.
  for (const match of text.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(match[2] as string)
    const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
    if (rels.includes('next')) return match[1]
  }
  return undefined
}

const withLinkHeader = (include: PageableInput['includeHeaders']): boolean | string[] => {
  if (include === true) return true
  return [...(Array.isArray(include) ? include : []), 'link']
}

const present = (value: unknown): value is string | number =>
  (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))

const validate = (options: PaginateOptions) => {
  const max = options.maxPages ?? 100
  if (!Number.isInteger(max) || max < 1)
    throw new InvalidArgumentError(`[http] paginate: maxPages must be an integer >= 1, got ${String(max)}`)
  if (options.strategy === 'body-next-url' && !options.nextUrlPath)
    throw new InvalidArgumentError('[http] paginate: nextUrlPath is required')
  if (options.strategy === 'cursor' && (!options.cursorPath || !options.cursorParam)) {
    throw new InvalidArgumentError('[http] paginate: cursorPath and cursorParam are required')
  }
  if (!['link-header', 'body-next-url', 'cursor'].includes(options.strategy)) {
    throw new InvalidArgumentError(`[http] paginate: unknown strategy "${String(options.strategy)}"`)
  }
  return max
}

const jsonBody = (page: HttpResponse, n: number) => {
  if (page.bodyType !== 'json' && page.bodyType !== 'empty') {
    throw new NonRetryableError(`[http] paginate: page ${n} (${page.url}) has a ${page.bodyType} body, not JSON`)
  }
  return page.body
}

/**
 * Fetches page after page, each through `runner.run(action, input)`, and yields each response.
 * Stops when there is no next page, at `maxPages`, or when a next URL or cursor repeats (a loop).
 *
 * @example
 * ```ts
 * for await (const page of paginate(step, github.get, { url: '/repos/o/r/issues' }, { strategy: 'link-header' })) {
 *   issues.push(...(page.body as Issue[]))
 * }
 * ```
 */
export async function* paginate<I extends PageableInput>(
  runner: ActionRunner,
  action: Action<I, HttpResponse>,
  input: I,
  options: PaginateOptions,
): AsyncGenerator<HttpResponse, void, undefined> {
  const maxPages = validate(options)
  const seen = new Set<string>()
  let next: I = options.strategy === 'link-header' ? { ...input, includeHeaders: withLinkHeader(input.includeHeaders) } : input
  for (let n = 1; ; n++) {
    const page = await runner.run(action, next)
    yield page
    if (n >= maxPages) return
    if (options.strategy === 'cursor') {
      const cursor = readPath(jsonBody(page, n), options.cursorPath)
      if (!present(cursor) || seen.has(String(cursor))) return
      seen.add(String(cursor))
      next = { ...next, query: { ...next.query, [options.cursorParam]: String(cursor) } }
      continue
    }
    const target = options.strategy === 'link-header' ? nextLink(page.headers?.link) : readPath(jsonBody(page, n), options.nextUrlPath)
    if (!present(target)) return
    seen.add(page.url)
    const url = new URL(String(target), page.url).href
    if (seen.has(url)) return
    seen.add(url)
    // The next URL carries its own query string; the original query must not be appended again.
    next = { ...next, url, query: undefined }
  }
}
