import { z } from 'zod'
import { addressInputSchema, type EmailAddress, HEADER_BREAK, HEADER_BREAK_MESSAGE, parseAddress } from './address.js'
import type { EmailProvider } from './errors.js'
import { headerNameProblem } from './headers.js'
import { refusingProtoKeys } from './keys.js'

/** A string bound for a header: no CR, LF or NUL, and a length cap. */
const headerText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !HEADER_BREAK.test(s), HEADER_BREAK_MESSAGE)

/** One address or a list of them, checked and normalized to `{ name?, address }[]`. */
const addressList = (max: number) =>
  z.union([addressInputSchema, z.array(addressInputSchema)]).transform((value, ctx) => {
    const list = Array.isArray(value) ? value : [value]
    if (list.length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one address' })
    if (list.length > max) ctx.addIssue({ code: 'custom', message: `at most ${max} addresses` })
    const out: EmailAddress[] = []
    list.forEach((item, i) => {
      const at = Array.isArray(value) ? [i] : []
      const parsed = parseAddress(item, (message, path = []) => ctx.addIssue({ code: 'custom', message, path: [...at, ...path] }))
      if (parsed) out.push(parsed)
    })
    return out
  })

/** One address, checked and normalized. */
const singleAddress = addressInputSchema.transform((value, ctx) => {
  const parsed = parseAddress(value, (message, path = []) => ctx.addIssue({ code: 'custom', message, path }))
  return parsed ?? z.NEVER
})

const MIME_TYPE = /^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*$/
const CONTENT_ID = /^[A-Za-z0-9._@+-]{1,250}$/
const TAG_PART = /^[A-Za-z0-9_-]{1,256}$/

/**
 * An attachment is inline content only. `path` and `href` are refused (nodemailer would read a local
 * file or fetch a URL, which a workflow input must never be able to make it do).
 */
const attachmentSchema = z
  .strictObject(
    {
      filename: headerText(255).min(1),
      content: z.string(),
      /** How `content` is written: `utf8` text (default) or `base64` bytes. */
      encoding: z.enum(['utf8', 'base64']).optional(),
      contentType: headerText(127).regex(MIME_TYPE, 'must be a MIME type such as application/pdf').optional(),
      /** Set it to reference the attachment from the HTML as `cid:<contentId>`. */
      contentId: z.string().regex(CONTENT_ID, 'must be letters, digits and . _ @ + - only').optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `attachments take inline content only (filename, content, encoding, contentType, contentId); refused: ${issue.keys.join(', ')}`
          : undefined,
    },
  )
  .superRefine((a, ctx) => {
    if (a.encoding === 'base64' && !z.regexes.base64.test(a.content.replace(/\s+/g, ''))) {
      ctx.addIssue({ code: 'custom', message: 'is not valid base64', path: ['content'] })
    }
  })

/** Postmark Metadata: 10 fields (one holds the idempotency key), names up to 20 characters, values up to 80. */
export const POSTMARK_TAG_LIMITS = { tags: 9, name: 20, value: 80 } as const
const POSTMARK_RESERVED_TAG = 'idempotency_key'

/** Tags Postmark would refuse or that would overwrite the idempotency key: refused before sending. */
const postmarkTagProblems = (tags: { name: string; value: string }[], ctx: z.core.$RefinementCtx) => {
  if (tags.length > POSTMARK_TAG_LIMITS.tags) {
    ctx.addIssue({
      code: 'custom',
      path: ['tags'],
      message: `at most ${POSTMARK_TAG_LIMITS.tags} on Postmark (its Metadata takes 10 fields, one is the idempotency key)`,
    })
  }
  tags.forEach((tag, i) => {
    if (tag.name === POSTMARK_RESERVED_TAG) {
      ctx.addIssue({
        code: 'custom',
        path: ['tags', i, 'name'],
        message: `"${POSTMARK_RESERVED_TAG}" holds the idempotency key on Postmark`,
      })
    } else if (tag.name.length > POSTMARK_TAG_LIMITS.name) {
      ctx.addIssue({ code: 'custom', path: ['tags', i, 'name'], message: `at most ${POSTMARK_TAG_LIMITS.name} characters on Postmark` })
    }
    if (tag.value.length > POSTMARK_TAG_LIMITS.value) {
      ctx.addIssue({ code: 'custom', path: ['tags', i, 'value'], message: `at most ${POSTMARK_TAG_LIMITS.value} characters on Postmark` })
    }
  })
}

/** The fields `sendEmail` accepts; built per pack because the allowed headers and `from` depend on its options. */
const inputObject = (options: { allowedHeaders: ReadonlySet<string>; defaultFrom: boolean; provider?: EmailProvider }) =>
  z
    .strictObject({
      /** Sender; defaults to the pack's `from` option. */
      from: singleAddress.optional(),
      to: addressList(50),
      cc: addressList(50).optional(),
      bcc: addressList(50).optional(),
      replyTo: addressList(10).optional(),
      subject: headerText(998),
      text: z.string().optional(),
      html: z.string().optional(),
      /** Custom headers: `X-*` names and the allowed list only. */
      headers: z
        .record(z.string(), z.string())
        .superRefine((headers, ctx) => {
          for (const [name, value] of Object.entries(headers)) {
            const problem = headerNameProblem(name, options.allowedHeaders)
            if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] })
            else if (HEADER_BREAK.test(value)) ctx.addIssue({ code: 'custom', message: HEADER_BREAK_MESSAGE, path: [name] })
            else if (value.length > 998) ctx.addIssue({ code: 'custom', message: 'must be at most 998 characters', path: [name] })
          }
        })
        .optional(),
      attachments: z.array(attachmentSchema).max(20).optional(),
      /** Provider tags (Resend `tags`, Postmark `Metadata`, an `X-Tags` header over SMTP). */
      tags: z
        .array(z.strictObject({ name: z.string().regex(TAG_PART), value: z.string().regex(TAG_PART) }))
        .max(20)
        .optional(),
    })
    .superRefine((input, ctx) => {
      if (input.text === undefined && input.html === undefined) {
        ctx.addIssue({ code: 'custom', message: 'give a text or an html body (or both)', path: ['text'] })
      }
      if (!options.defaultFrom && input.from === undefined) {
        ctx.addIssue({ code: 'custom', message: 'is required (or set the from option of emailActions())', path: ['from'] })
      }
      if (options.provider === 'postmark' && input.tags) postmarkTagProblems(input.tags, ctx)
    })

/**
 * Everything `sendEmail` accepts. An own `__proto__` key anywhere is refused first (zod would drop it
 * silently: a header named so would vanish).
 */
export const sendEmailInputSchema = (options: { allowedHeaders: ReadonlySet<string>; defaultFrom: boolean; provider?: EmailProvider }) =>
  refusingProtoKeys(inputObject(options))

export type SendEmailInputSchema = ReturnType<typeof inputObject>
/** What callers pass to `sendEmail`. */
export type SendEmailInput = z.input<SendEmailInputSchema>
/** The input after validation: addresses normalized to `{ name?, address }`. */
export type ParsedSendEmailInput = z.output<SendEmailInputSchema>
export type Attachment = z.output<typeof attachmentSchema>

/** What `sendEmail` returns. */
export const sendEmailOutputSchema = z.object({
  /** Which transport sent it. */
  provider: z.enum(['smtp', 'resend', 'postmark', 'dev']),
  /** The RFC 5322 Message-ID (SMTP, dev), or the provider's message id (Resend, Postmark). */
  messageId: z.string(),
  /** Recipient addresses the server or API accepted. */
  accepted: z.array(z.string()),
  /** Recipient addresses the SMTP server refused while accepting the others (always empty for HTTP APIs). */
  rejected: z.array(z.string()),
  /** The SMTP server's final reply, e.g. `250 OK: queued as 12345`. */
  response: z.string().optional(),
  /** Dev transport: absolute path of the `.eml` file written. */
  file: z.string().optional(),
})

/** What `sendEmail` returns. */
export type SendEmailOutput = z.output<typeof sendEmailOutputSchema>
