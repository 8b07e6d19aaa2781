import { type Duration, InvalidArgumentError, type RetryOptions } from '@do-sdk/core'
import { z } from 'zod'
import { type AddressInput, addressInputSchema, type EmailAddress, parseAddress } from './address.js'
import { reservedHeaderProblem } from './headers.js'
import { refusingProtoKeys } from './keys.js'

/** Send through an SMTP server with nodemailer (file and URL access are always disabled). */
export interface SmtpTransportOptions {
  type: 'smtp'
  /** Host name or IP address of the SMTP server. */
  host: string
  /** TCP port. @default 465 when `secure`, else 587 */
  port?: number
  /** TLS from the first byte (port 465). When false, STARTTLS is used if the server offers it. @default port === 465 */
  secure?: boolean
  /** Fail rather than send in clear text when STARTTLS is not offered. @default false */
  requireTLS?: boolean
  /** Login; the password never appears in outputs, errors or logs. */
  auth?: { user: string; pass: string }
  /** Host name announced in EHLO. @default the machine's host name */
  clientName?: string
  /** Milliseconds to wait for the TCP connection. @default 10000 */
  connectionTimeoutMs?: number
  /** Milliseconds to wait for the server's greeting once connected. @default 10000 */
  greetingTimeoutMs?: number
  /** Milliseconds of socket inactivity before giving up. @default 60000 */
  socketTimeoutMs?: number
  /** TLS settings, e.g. `{ rejectUnauthorized: false }` for a self-signed test server. */
  tls?: { rejectUnauthorized?: boolean; servername?: string }
}

/** Send through the Resend HTTP API (`POST /emails`), with its `Idempotency-Key` header. */
export interface ResendTransportOptions {
  type: 'resend'
  /** Resend API key (`re_…`); never appears in outputs, errors or logs. */
  apiKey: string
  /** API root, for a proxy or a test server. @default 'https://api.resend.com' */
  baseUrl?: string
}

/** Send through the Postmark HTTP API (`POST /email`). */
export interface PostmarkTransportOptions {
  type: 'postmark'
  /** Postmark server token; never appears in outputs, errors or logs. */
  serverToken: string
  /** API root, for a proxy or a test server. @default 'https://api.postmarkapp.com' */
  baseUrl?: string
  /** Postmark message stream. @default 'outbound' */
  messageStream?: string
}

/** Write each message as an RFC 822 `.eml` file instead of sending it (development, demos, tests). */
export interface DevTransportOptions {
  type: 'dev'
  /** Folder for the `.eml` files, created if missing; relative to the working directory. */
  dir: string
}

/** Which transport delivers the messages. */
export type EmailTransportOptions = SmtpTransportOptions | ResendTransportOptions | PostmarkTransportOptions | DevTransportOptions

/** Options of {@link emailActions}; checked when it is called. */
export interface EmailActionsOptions {
  /** Which transport delivers the messages. */
  transport: EmailTransportOptions
  /** Sender used when the input gives no `from`, e.g. `'Acme <hello@acme.test>'`. */
  from?: AddressInput
  /** Prefix of the action ids (`<namespace>.send`); give each instance of the pack its own. @default 'email' */
  namespace?: string
  /** Retry policy of the actions. @default { retries: 3, minTimeout: 1000, factor: 2 } */
  retry?: RetryOptions | false
  /** Per-attempt timeout. @default '60s' */
  timeout?: Duration
  /** Header names allowed in `input.headers` besides `X-*` and `DEFAULT_ALLOWED_HEADERS`. */
  allowedHeaders?: string[]
  /** Domain of the Message-IDs the pack derives. @default the domain of the `from` address */
  messageIdDomain?: string
}

const ms = z.number().int().positive()
const secret = z.string().min(1)
const httpBase = (fallback: string) =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default(fallback)
    .transform((u) => u.replace(/\/+$/, ''))

const transportSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('smtp'),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).optional(),
      secure: z.boolean().optional(),
      requireTLS: z.boolean().optional(),
      auth: z.strictObject({ user: z.string().min(1), pass: secret }).optional(),
      clientName: z.string().min(1).optional(),
      connectionTimeoutMs: ms.optional(),
      greetingTimeoutMs: ms.optional(),
      socketTimeoutMs: ms.optional(),
      tls: z.strictObject({ rejectUnauthorized: z.boolean().optional(), servername: z.string().optional() }).optional(),
    }),
    z.strictObject({ type: z.literal('resend'), apiKey: secret, baseUrl: httpBase('https://api.resend.com') }),
    z.strictObject({
      type: z.literal('postmark'),
      serverToken: secret,
      baseUrl: httpBase('https://api.postmarkapp.com'),
      messageStream: z.string().min(1).optional(),
    }),
    z.strictObject({ type: z.literal('dev'), dir: z.string().min(1) }),
  ],
  { error: 'must be { type: "smtp" | "resend" | "postmark" | "dev", … }' },
)

const optionsSchema = z.strictObject({
  transport: transportSchema,
  from: addressInputSchema.optional(),
  namespace: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}$/, 'must be letters, digits and . _ - : @ /')
    .default('email'),
  retry: z
    .union([
      z.literal(false),
      z.strictObject({
        retries: z.number().int().min(0).optional(),
        factor: z.number().positive().optional(),
        minTimeout: z.number().min(0).optional(),
        maxTimeout: z.number().min(0).optional(),
        randomize: z.boolean().optional(),
      }),
    ])
    .optional(),
  timeout: z.union([z.number().positive(), z.string().min(1)]).default('60s'),
  allowedHeaders: z.array(z.string()).default([]),
  messageIdDomain: z.string().regex(z.regexes.domain, 'must be a domain name such as example.com').optional(),
})

/** Options after validation, with defaults filled in. */
export type ResolvedEmailOptions = Omit<z.output<typeof optionsSchema>, 'from'> & { from?: EmailAddress }
export type ResolvedTransportOptions = ResolvedEmailOptions['transport']

const where = (path: PropertyKey[]) => `"${path.map(String).join('.') || 'options'}"`

const fail = (path: PropertyKey[], message: string): never => {
  throw new InvalidArgumentError(`[email] Invalid option ${where(path)}: ${message}`)
}

/** Checks the options of `emailActions()`; throws an InvalidArgumentError naming the first bad option. */
export const parseOptions = (options: EmailActionsOptions): ResolvedEmailOptions => {
  if (typeof options !== 'object' || options === null) fail([], 'emailActions() needs an options object with a transport')
  const result = refusingProtoKeys(optionsSchema).safeParse(options)
  if (!result.success) {
    // Every issue, so that a misspelt key shows up next to the missing one it was meant to be.
    const [first, ...rest] = result.error.issues
    const more = rest.map((i) => `; ${where(i.path)}: ${i.message}`).join('')
    fail(first.path, first.message + more)
  }
  const parsed = result.data as z.output<typeof optionsSchema>
  let from: EmailAddress | undefined
  if (parsed.from !== undefined) {
    from = parseAddress(parsed.from, (message, path = []) => fail(['from', ...path], message))
  }
  for (const [i, name] of parsed.allowedHeaders.entries()) {
    const problem = reservedHeaderProblem(name)
    if (problem) fail(['allowedHeaders', i], problem)
  }
  return { ...parsed, from }
}
