import { type Duration, InvalidArgumentError, type RetryOptions, toMs } from '@do-sdk/core'
import { z } from 'zod'
import { HEADER_NAME, HEADER_VALUE, headerMapSchema, mergeHeaders, RESERVED_INPUT_HEADERS } from './headers.js'
import { refusingProtoKeys } from './keys.js'
import { parseAllowEntry } from './ssrf.js'

/** A secret, or a function that returns it (called once per request: rotate or refresh tokens there). */
export type Secret = string | (() => string | Promise<string>)

/**
 * Credentials, sent only to the origin of `baseUrl` (or, without `baseUrl`, of each request's first URL),
 * never across a cross-origin redirect. Their values are redacted from outputs, errors and logs.
 */
export type HttpAuth =
  | { type: 'basic'; username: string; password: Secret }
  | { type: 'bearer'; token: Secret }
  | { type: 'header'; name: string; value: Secret }

/** Timeouts; each is ms or a duration string (`'30s'`). */
export interface HttpTimeouts {
  /** TCP connect plus TLS handshake, in ms. @default 10_000 */
  connect?: Duration
  /** From sending the request to receiving the response headers, in ms. @default 30_000 */
  headers?: Duration
  /** Longest silence between two chunks of the response body, in ms. @default 30_000 */
  body?: Duration
  /** The whole attempt (every redirect hop and the body), in ms. @default 60_000 */
  total?: Duration
}

/** Options of {@link httpActions}. Validated at once: a bad one throws an `InvalidArgumentError` naming it. */
export interface HttpActionsOptions {
  /**
   * Prefix of the action ids (`<namespace>.request`, `<namespace>.get`, …); give each instance its own
   * (`github.get`, `stripe.post`). Letters, digits, `. _ - : @ /`. @default 'http'
   */
  namespace?: string
  /** Absolute http(s) URL that relative `url`s are appended to: `https://api.example.com/v1` + `/users` → `https://api.example.com/v1/users`. */
  baseUrl?: string
  /** Headers sent with every request; an input header of the same name (any case) wins. */
  headers?: Record<string, string>
  /** Credentials; see {@link HttpAuth}. Never put secrets in action input: it is journaled. */
  auth?: HttpAuth
  timeouts?: HttpTimeouts
  /** Redirects followed per attempt; one more fails the attempt without retry. `0` follows none. @default 5 */
  maxRedirects?: number
  /** Largest response body read, in bytes; a larger one fails with a `SizeLimitError` (no retry). @default 10 MiB */
  maxResponseBytes?: number
  /** Retry policy of the actions (p-retry options, delays in ms), or `false` for one attempt. @default { retries: 3, minTimeout: 1000, factor: 2 } */
  retry?: RetryOptions | false
  /**
   * Non-public destinations to open (the SSRF policy refuses private, loopback, link-local and other
   * non-public addresses by default). Entries: an address (`127.0.0.1`, `::1`), a network (`10.0.0.0/8`),
   * an address with a port (`127.0.0.1:8080`, `[::1]:8080`), or a host name whose every address is
   * trusted (`localhost`, `localhost:8080`, `*.svc.cluster.local`). `['0.0.0.0/0', '::/0']` opens all.
   * @default []
   */
  allow?: string[]
  /** Name of the header that carries the idempotency key. @default 'Idempotency-Key' */
  idempotencyHeader?: string
  /**
   * Send `ctx.idempotencyKey` (stable across attempts: `runId:stepId` in a workflow) in `idempotencyHeader`
   * on every request; a request that carries it is retried whatever its method. Per request: input
   * `idempotencyKey: true | false`. @default false
   */
  sendIdempotencyKey?: boolean
}

const durationSchema = z.union([z.number(), z.string()]).superRefine((value, ctx) => {
  try {
    toMs(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be ms >= 0 or a duration like "30s", got ${JSON.stringify(value)}` })
  }
})
const secretSchema = z.union([z.string().min(1).regex(HEADER_VALUE, 'must not contain CR, LF or NUL'), z.function()])
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })

const optionsSchema = z.strictObject({
  namespace: z
    .string()
    .regex(/^[A-Za-z0-9._\-:@/]{1,100}$/, 'must be 1-100 letters, digits or . _ - : @ /')
    .optional(),
  baseUrl: httpUrl
    .refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), 'must not carry credentials (use auth)')
    .optional(),
  headers: headerMapSchema
    .superRefine((headers, ctx) => {
      for (const name of Object.keys(headers)) {
        if (RESERVED_INPUT_HEADERS.has(name.toLowerCase())) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `may not be set here${/authorization/i.test(name) ? ' (use the auth option)' : ''}`,
          })
        }
      }
    })
    .optional(),
  auth: z
    .discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('basic'),
        username: z.string().regex(/^[^:\r\n\0]*$/, 'must not contain ":"'),
        password: secretSchema,
      }),
      z.strictObject({ type: z.literal('bearer'), token: secretSchema }),
      z.strictObject({
        type: z.literal('header'),
        name: z
          .string()
          .regex(HEADER_NAME, 'must be a valid header name')
          .refine((n) => !RESERVED_INPUT_HEADERS.has(n.toLowerCase()) || n.toLowerCase() === 'authorization', 'is reserved'),
        value: secretSchema,
      }),
    ])
    .optional(),
  timeouts: z
    .strictObject({ connect: durationSchema, headers: durationSchema, body: durationSchema, total: durationSchema })
    .partial()
    .optional(),
  maxRedirects: z.number().int().min(0).max(50).optional(),
  maxResponseBytes: z.number().int().positive().optional(),
  retry: z
    .union([
      z.literal(false),
      z
        .strictObject({
          retries: z.number().int().min(0),
          factor: z.number().positive(),
          minTimeout: z.number().min(0),
          maxTimeout: z.number().min(0),
          randomize: z.boolean(),
        })
        .partial(),
    ])
    .optional(),
  allow: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const parsed = parseAllowEntry(entry)
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `"${entry}" ${parsed}` })
      }),
    )
    .optional(),
  idempotencyHeader: z
    .string()
    .regex(HEADER_NAME, 'must be a valid header name')
    // The key would replace a header the pack owns (Host, Content-Length…) or the credentials.
    .refine((n) => !RESERVED_INPUT_HEADERS.has(n.toLowerCase()), 'is a header the pack sets itself (Host, Content-Length, Authorization…)')
    .optional(),
  sendIdempotencyKey: z.boolean().optional(),
})

/** Options after validation, with defaults applied and durations in ms. */
export interface ResolvedOptions {
  namespace: string
  baseUrl?: URL
  headers: Record<string, string>
  auth?: HttpAuth
  connectTimeoutMs: number
  headersTimeoutMs: number
  bodyTimeoutMs: number
  totalTimeoutMs: number
  maxRedirects: number
  maxResponseBytes: number
  retry?: RetryOptions | false
  allow: string[]
  /** Lowercase. */
  idempotencyHeader: string
  sendIdempotencyKey: boolean
}

const formatPath = (path: PropertyKey[]) =>
  path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), '')

/** Validates the options; throws an `InvalidArgumentError` that names the first bad option. */
export const resolveOptions = (options: HttpActionsOptions = {}): ResolvedOptions => {
  const result = refusingProtoKeys(optionsSchema).safeParse(options)
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue
    const path = formatPath(issue.path) || '(options)'
    throw new InvalidArgumentError(`[http] Invalid option "${path}": ${issue.message}`, { cause: result.error })
  }
  const o = result.data
  // Checked by durationSchema already; toMs takes the validated string as it is.
  const ms = (value: string | number | undefined, fallback: number) => (value === undefined ? fallback : toMs(value))
  return {
    namespace: o.namespace ?? 'http',
    baseUrl: o.baseUrl === undefined ? undefined : new URL(o.baseUrl),
    headers: mergeHeaders(o.headers),
    auth: o.auth as HttpAuth | undefined,
    connectTimeoutMs: ms(o.timeouts?.connect, 10_000),
    headersTimeoutMs: ms(o.timeouts?.headers, 30_000),
    bodyTimeoutMs: ms(o.timeouts?.body, 30_000),
    totalTimeoutMs: ms(o.timeouts?.total, 60_000),
    maxRedirects: o.maxRedirects ?? 5,
    maxResponseBytes: o.maxResponseBytes ?? 10 * 1024 * 1024,
    retry: o.retry,
    allow: o.allow ?? [],
    idempotencyHeader: (o.idempotencyHeader ?? 'Idempotency-Key').toLowerCase(),
    sendIdempotencyKey: o.sendIdempotencyKey ?? false,
  }
}

/** Resolves the auth option into the header to send and the values to redact. */
export const resolveAuth = async (auth: HttpAuth | undefined): Promise<{ name: string; value: string; secrets: string[] } | undefined> => {
  if (!auth) return undefined
  const reveal = async (secret: Secret, what: string) => {
    const value = typeof secret === 'function' ? await secret() : secret
    if (typeof value !== 'string' || value === '' || !HEADER_VALUE.test(value)) {
      throw new InvalidArgumentError(`[http] auth.${what} must resolve to a non-empty string without CR, LF or NUL`)
    }
    return value
  }
  if (auth.type === 'bearer') {
    const token = await reveal(auth.token, 'token')
    return { name: 'authorization', value: `Bearer ${token}`, secrets: [token] }
  }
  if (auth.type === 'basic') {
    const password = await reveal(auth.password, 'password')
    const encoded = Buffer.from(`${auth.username}:${password}`).toString('base64')
    return { name: 'authorization', value: `Basic ${encoded}`, secrets: [password, encoded] }
  }
  const value = await reveal(auth.value, 'value')
  return { name: auth.name.toLowerCase(), value, secrets: [value] }
}
