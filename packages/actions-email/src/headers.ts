/**
 * Custom header names accepted in `input.headers` besides every `X-*` name. Extend the list with the
 * `allowedHeaders` option of `emailActions()`.
 */
export const DEFAULT_ALLOWED_HEADERS: readonly string[] = Object.freeze([
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Id',
  'List-Help',
  'List-Subscribe',
  'List-Owner',
  'List-Archive',
  'In-Reply-To',
  'References',
  'Auto-Submitted',
  'Precedence',
  'Importance',
  'Priority',
  'Keywords',
  'Comments',
])

/**
 * Names that have their own input field or belong to the transport (addresses, Message-ID, MIME
 * structure, routing, signatures). They are refused in `input.headers` and in `allowedHeaders`: setting
 * one by hand could add a hidden recipient, break the MIME tree or spoof a trace.
 */
const RESERVED = new Set(
  [
    'from',
    'sender',
    'to',
    'cc',
    'bcc',
    'reply-to',
    'subject',
    'date',
    'message-id',
    'return-path',
    'received',
    'mime-version',
    'dkim-signature',
    'authentication-results',
    'disposition-notification-to',
  ].map((n) => n.toLowerCase()),
)
const RESERVED_PREFIXES = ['content-', 'resent-', 'arc-']

/** A header field name: letters, digits and dashes, starting with a letter or digit. */
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,75}$/

/** Why `name` can never be a custom header, or `undefined` when it could be allowed. */
export const reservedHeaderProblem = (name: string): string | undefined => {
  if (!HEADER_NAME.test(name)) return 'must be a header name (letters, digits and dashes, at most 76 characters)'
  const lower = name.toLowerCase()
  if (RESERVED.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
    return `"${name}" is set by the email pack itself and cannot be given as a custom header`
  }
  return undefined
}

/** Lower-cased set of the names allowed besides `X-*`: the defaults plus `extra`. */
export const allowedHeaderSet = (extra: readonly string[] = []): ReadonlySet<string> =>
  new Set([...DEFAULT_ALLOWED_HEADERS, ...extra].map((n) => n.toLowerCase()))

/** Why `name` is refused in `input.headers`, or `undefined` when it is allowed. */
export const headerNameProblem = (name: string, allowed: ReadonlySet<string>): string | undefined => {
  const reserved = reservedHeaderProblem(name)
  if (reserved) return reserved
  if (/^x-/i.test(name) || allowed.has(name.toLowerCase())) return undefined
  return `"${name}" is not an allowed header: use an X-* name, one of the documented names, or add it to the allowedHeaders option`
}
