import { type Action, action, definePlugin, type Plugin } from '@do-sdk/core'
import { Agent } from 'undici'
import { createGuardedConnect } from './connector.js'
import { type HttpActionsOptions, type ResolvedOptions, resolveOptions } from './options.js'
import { sendRequest } from './request.js'
import {
  buildInputSchemas,
  checkHeadersAndBody,
  type HttpBodyRequestInput,
  type HttpMethod,
  type HttpNoBodyRequestInput,
  type HttpRequestInput,
  type HttpResponse,
  type InputCheck,
  type ParsedRequestInput,
  responseSchema,
} from './schema.js'
import { createAddressPolicy } from './ssrf.js'
import { resolveUrl } from './url.js'

/** What {@link httpActions} returns: the actions, a plugin that registers them, and `close()`. */
export interface HttpActions {
  /** Any method: `{ method, url, query?, headers?, body?, responseType?, includeHeaders?, idempotencyKey? }`. */
  request: Action<HttpRequestInput, HttpResponse>
  get: Action<HttpNoBodyRequestInput, HttpResponse>
  head: Action<HttpNoBodyRequestInput, HttpResponse>
  options: Action<HttpNoBodyRequestInput, HttpResponse>
  post: Action<HttpBodyRequestInput, HttpResponse>
  put: Action<HttpBodyRequestInput, HttpResponse>
  patch: Action<HttpBodyRequestInput, HttpResponse>
  delete: Action<HttpBodyRequestInput, HttpResponse>
  /** Every action above, in that order. */
  all: readonly Action[]
  /** Registers every action with the engine: `createEngine({ plugins: [http.plugin] })`. */
  plugin: Plugin
  /** Closes the connection pool. Requests started after this fail. */
  close(): Promise<void>
}

const DESCRIPTIONS: Record<string, string> = {
  request: 'Sends an HTTP request and returns the status, body and (optionally) headers.',
  get: 'Sends an HTTP GET request and returns the status, body and (optionally) headers.',
  head: 'Sends an HTTP HEAD request and returns the status and (optionally) headers.',
  options: 'Sends an HTTP OPTIONS request and returns the status, body and (optionally) headers.',
  post: 'Sends an HTTP POST request with an optional body and returns the status, body and (optionally) headers.',
  put: 'Sends an HTTP PUT request with an optional body and returns the status, body and (optionally) headers.',
  patch: 'Sends an HTTP PATCH request with an optional body and returns the status, body and (optionally) headers.',
  delete: 'Sends an HTTP DELETE request with an optional body and returns the status, body and (optionally) headers.',
}

const urlCheck =
  (options: ResolvedOptions): InputCheck =>
  (input) => {
    try {
      resolveUrl(input.url, options.baseUrl)
      return []
    } catch (error) {
      return [{ path: 'url', message: (error as Error).message }]
    }
  }

/**
 * Creates the HTTP actions for one API or one trust zone: options (base URL, credentials, timeouts,
 * retry policy, SSRF allow list) are validated now and shared by every action it returns, with one
 * connection pool.
 *
 * @example
 * ```ts
 * const github = httpActions({
 *   namespace: 'github',
 *   baseUrl: 'https://api.github.com',
 *   auth: { type: 'bearer', token: () => process.env.GITHUB_TOKEN! },
 *   retry: { retries: 5, minTimeout: 500 },
 * })
 * const engine = createEngine({ store, workflows, plugins: [github.plugin] })
 * // in a workflow:
 * const repo = await step.run(github.get, { url: '/repos/octo/hello' })
 * ```
 * @throws InvalidArgumentError naming the first bad option
 */
export const httpActions = (options: HttpActionsOptions = {}): HttpActions => {
  const resolved = resolveOptions(options)
  const dispatcher = new Agent({
    connect: createGuardedConnect(createAddressPolicy(resolved.allow), { connectTimeoutMs: resolved.connectTimeoutMs }),
    headersTimeout: resolved.headersTimeoutMs,
    bodyTimeout: resolved.bodyTimeoutMs,
  })
  const checkUrl = urlCheck(resolved)
  const schemas = buildInputSchemas((input) => [...checkUrl(input), ...checkHeadersAndBody(input)])

  const make = <I>(verb: string, schema: (typeof schemas)[keyof typeof schemas], method?: HttpMethod): Action<I, HttpResponse> =>
    action.create({
      id: `${resolved.namespace}.${verb}`,
      description: DESCRIPTIONS[verb] as string,
      input: schema,
      output: responseSchema,
      ...(resolved.retry === undefined ? {} : { retry: resolved.retry }),
      execute: (input, ctx) => sendRequest(resolved, dispatcher, (method ? { ...input, method } : input) as ParsedRequestInput, ctx),
    }) as unknown as Action<I, HttpResponse>

  const actions = {
    request: make<HttpRequestInput>('request', schemas.request),
    get: make<HttpNoBodyRequestInput>('get', schemas.noBody, 'GET'),
    head: make<HttpNoBodyRequestInput>('head', schemas.noBody, 'HEAD'),
    options: make<HttpNoBodyRequestInput>('options', schemas.noBody, 'OPTIONS'),
    post: make<HttpBodyRequestInput>('post', schemas.withBody, 'POST'),
    put: make<HttpBodyRequestInput>('put', schemas.withBody, 'PUT'),
    patch: make<HttpBodyRequestInput>('patch', schemas.withBody, 'PATCH'),
    delete: make<HttpBodyRequestInput>('delete', schemas.withBody, 'DELETE'),
  }
  const all = Object.freeze(Object.values(actions) as Action[])
  return {
    ...actions,
    all,
    plugin: definePlugin({
      name: resolved.namespace === 'http' ? '@do-sdk/actions-http' : `@do-sdk/actions-http:${resolved.namespace}`,
      setup(ctx) {
        for (const a of all) ctx.registerAction(a)
      },
    }),
    close: () => dispatcher.close(),
  }
}
