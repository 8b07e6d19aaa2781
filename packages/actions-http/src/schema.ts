import { z } from 'zod'
import { HEADER_VALUE, headerMapSchema, RESERVED_INPUT_HEADERS } from './headers.js'
import { refusingProtoKeys } from './keys.js'

/** Methods the actions send. GET, HEAD, PUT, DELETE and OPTIONS are idempotent (retried on 408/425/429/5xx). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

const scalar = z.union([z.string(), z.number(), z.boolean()])
/** A body's own content type ends up in the Content-Type header: no CR, LF or NUL. */
const contentType = z.string().min(1).regex(HEADER_VALUE, 'must not contain CR, LF or NUL').optional()

/** A request body: JSON, an urlencoded form, text, or binary as base64. */
export const requestBodySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('json'), data: z.json() }),
  z.strictObject({ type: z.literal('form'), data: z.record(z.string(), z.union([scalar, z.array(scalar)])) }),
  z.strictObject({ type: z.literal('text'), data: z.string(), contentType }),
  z.strictObject({ type: z.literal('base64'), data: z.base64(), contentType }),
])

const fields = {
  /** Absolute http(s) URL, or a path appended to `baseUrl`. */
  url: z.string().min(1),
  /** Query parameters appended to the URL's own; `null` skips one, an array repeats it. */
  query: z.record(z.string(), z.union([scalar, z.null(), z.array(scalar)])).optional(),
  /** Request headers; override the default headers of the same name. Credentials go in the `auth` option. */
  headers: headerMapSchema.optional(),
  /** How to read the response body: `auto` picks json, text or base64 from its content type. */
  responseType: z.enum(['json', 'text', 'base64', 'auto']).default('auto'),
  /** Return the response headers: all (`true`) or the ones named. */
  includeHeaders: z.union([z.boolean(), z.array(z.string())]).default(false),
  /** Send the idempotency key header (overrides the `sendIdempotencyKey` option for this request). */
  idempotencyKey: z.boolean().optional(),
}

/** Checks an input against what the factory knows (base URL); returns an error message per bad field. */
export type InputCheck = (input: { url: string; headers?: Record<string, string>; method?: string; body?: unknown }) => {
  path: string
  message: string
}[]

const withChecks = <T extends z.ZodType>(schema: T, check: InputCheck) =>
  schema.superRefine((input, ctx) => {
    for (const problem of check(input as never)) ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message })
  })

const requestObject = z.strictObject({ method: z.enum(HTTP_METHODS).default('GET'), body: requestBodySchema.optional(), ...fields })
const withBodyObject = z.strictObject({ body: requestBodySchema.optional(), ...fields })
const noBodyObject = z.strictObject(fields)

/** Input of the `request` action. */
export type HttpRequestInput = z.input<typeof requestObject>
/** Input of the `post`, `put`, `patch` and `delete` actions (the method is the action's). */
export type HttpBodyRequestInput = z.input<typeof withBodyObject>
/** Input of the `get`, `head` and `options` actions (no body). */
export type HttpNoBodyRequestInput = z.input<typeof noBodyObject>
/** A request body (see {@link requestBodySchema}). */
export type HttpRequestBody = z.input<typeof requestBodySchema>
/** Parsed input, as `execute` sees it. */
export type ParsedRequestInput = z.output<typeof requestObject>

/** The three input schemas, refined with the factory's checks; an own `__proto__` key anywhere is refused first. */
export const buildInputSchemas = (check: InputCheck) => ({
  request: withChecks(refusingProtoKeys(requestObject), check),
  withBody: withChecks(refusingProtoKeys(withBodyObject), check),
  noBody: withChecks(refusingProtoKeys(noBodyObject), check),
})

/** Input checks that do not depend on the options. */
export const checkHeadersAndBody: InputCheck = (input) => {
  const problems: { path: string; message: string }[] = []
  for (const name of Object.keys(input.headers ?? {})) {
    if (RESERVED_INPUT_HEADERS.has(name.toLowerCase())) {
      const hint = /authorization/i.test(name) ? ' (set credentials in the auth option of httpActions: action input is journaled)' : ''
      problems.push({ path: 'headers', message: `header "${name}" may not be set in input${hint}` })
    }
  }
  if (input.body !== undefined && (input.method === 'GET' || input.method === 'HEAD')) {
    problems.push({ path: 'body', message: `a ${input.method} request has no body` })
  }
  return problems
}

/** Output of every HTTP action. */
export const responseSchema = z.object({
  /** Final response status (after redirects). */
  status: z.number().int(),
  /** Response headers (lowercase names), when `includeHeaders` asked for them. */
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  /** Parsed JSON, text, base64 string, or `null` when the response has no body. */
  body: z.unknown(),
  /** How `body` was read. */
  bodyType: z.enum(['json', 'text', 'base64', 'empty']),
  /** The final URL (after redirects). */
  url: z.string(),
  /** Redirects followed. */
  redirects: z.number().int().min(0),
})

/** What an HTTP action returns. */
export type HttpResponse = z.output<typeof responseSchema>
