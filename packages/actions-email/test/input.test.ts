import { ValidationError } from '@do-sdk/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmailActions, emailActions, type SendEmailInput } from '../src/index.js'
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server.js'

const INJECT = 'Hi\r\nBcc: x@evil.com'
const base = { to: 'bob@example.com', subject: 'Hello', text: 'Body' }

let server: TestSmtpServer
let email: EmailActions
beforeAll(async () => {
  server = await startSmtpServer()
  email = emailActions({
    transport: { type: 'smtp', host: '127.0.0.1', port: server.port },
    from: 'Acme <hello@acme.test>',
    allowedHeaders: ['X-Ignored-Anyway', 'Organization'],
    retry: false,
  })
})
afterAll(async () => {
  await email.close()
  await server.close()
})

/** Sends `input`, expects a ValidationError with an issue at `path`, and checks that nothing reached the server. */
const refused = async (input: unknown, path: (string | number)[], message: RegExp) => {
  const before = server.counts.connections
  const err = await email.sendEmail.execute(input as SendEmailInput).catch((e) => e)
  expect(err).toBeInstanceOf(ValidationError)
  expect(err.issues).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }))
  expect(err.message).toContain(path.join('.'))
  expect(server.counts.connections).toBe(before)
}

describe('header injection is refused and nothing is sent', () => {
  it.each<[string, unknown, (string | number)[]]>([
    ['subject', { ...base, subject: INJECT }, ['subject']],
    ['subject with a bare LF', { ...base, subject: 'Hi\nBcc: x@evil.com' }, ['subject']],
    ['subject with NUL', { ...base, subject: 'Hi\0there' }, ['subject']],
    ['to display name (object)', { ...base, to: { name: INJECT, address: 'bob@example.com' } }, ['to', 'name']],
    ['to display name (string)', { ...base, to: [`${INJECT} <bob@example.com>`] }, ['to', 0]],
    ['to address', { ...base, to: { address: 'bob@example.com\r\nBcc: x@evil.com' } }, ['to', 'address']],
    ['trailing CRLF on an address', { ...base, to: 'bob@example.com\r\n' }, ['to']],
    ['from display name', { ...base, from: { name: INJECT, address: 'jane@acme.test' } }, ['from', 'name']],
    ['cc', { ...base, cc: [`bob@example.com`, `${INJECT} <c@example.com>`] }, ['cc', 1]],
    ['replyTo', { ...base, replyTo: { name: INJECT, address: 'r@example.com' } }, ['replyTo', 'name']],
    ['header value', { ...base, headers: { 'X-Campaign': INJECT } }, ['headers', 'X-Campaign']],
    [
      'attachment filename',
      { ...base, attachments: [{ filename: 'a.txt\r\nBcc: x@evil.com', content: 'x' }] },
      ['attachments', 0, 'filename'],
    ],
    [
      'attachment content type',
      { ...base, attachments: [{ filename: 'a.txt', content: 'x', contentType: `text/plain\r\nBcc: x@evil.com` }] },
      ['attachments', 0, 'contentType'],
    ],
    // docs/packs/email.md: "CR, LF and NUL are refused, with a `ValidationError` naming the field, in every string that ends up in a header"
  ])('%s', async (_label, input, path) => {
    await refused(input, path, /CR, LF or NUL|must be/)
  })
})

describe('custom headers are allow-listed', () => {
  // docs/packs/email.md: "refused everywhere, even in `allowedHeaders`"
  it.each([['Bcc'], ['From'], ['Message-ID'], ['Content-Type'], ['Return-Path'], ['DKIM-Signature']])('refuses %s', async (name) => {
    await refused({ ...base, headers: { [name]: 'x@evil.com' } }, ['headers', name], /set by the email pack/)
  })

  // docs/packs/email.md: "`input.headers` accepts `X-*` names and"
  it('refuses a name outside X-* and the list, and a malformed name', async () => {
    await refused({ ...base, headers: { Foo: 'bar' } }, ['headers', 'Foo'], /not an allowed header/)
    await refused({ ...base, headers: { 'X-Bad Name': 'bar' } }, ['headers', 'X-Bad Name'], /must be a header name/)
    await refused({ ...base, headers: { 'X-Colon:': 'bar' } }, ['headers', 'X-Colon:'], /must be a header name/)
  })

  // docs/packs/email.md: "plus the `allowedHeaders` option"
  it('sends X-*, documented and option-allowed headers', async () => {
    const before = server.received.length
    await email.sendEmail.execute({ ...base, headers: { 'X-Thing': 'one', Precedence: 'bulk', Organization: 'Acme' } })
    const { mail } = server.received[before]
    expect(mail.headers.get('x-thing')).toBe('one')
    expect(mail.headers.get('precedence')).toBe('bulk')
    expect(mail.headers.get('organization')).toBe('Acme')
  })
})

describe('attachments are inline content only', () => {
  // docs/packs/email.md: "**Attachments are content only.** `path`, `href` or any other key is refused"
  it('refuses path and href', async () => {
    await refused({ ...base, attachments: [{ filename: 'p', content: '', path: '/etc/passwd' }] }, ['attachments', 0], /refused: path/)
    await refused(
      { ...base, attachments: [{ filename: 'h', content: '', href: 'http://169.254.169.254/' }] },
      ['attachments', 0],
      /refused: href/,
    )
    await refused({ ...base, attachments: [{ filename: 'p', path: '/etc/passwd' }] }, ['attachments', 0], /refused: path/)
  })

  // docs/packs/email.md: "`content` is text (`encoding: 'utf8'`, the default) or base64 (`encoding: 'base64'`)"
  it('refuses content that is not base64 when it says it is', async () => {
    await refused(
      { ...base, attachments: [{ filename: 'b', content: 'not base64!', encoding: 'base64' }] },
      ['attachments', 0, 'content'],
      /base64/,
    )
  })
})

describe('addresses and required fields', () => {
  // docs/packs/email.md: "A string holds exactly one mailbox"
  it('refuses several addresses in one string (nodemailer would split them)', async () => {
    await refused({ ...base, to: 'bob@example.com, x@evil.com' }, ['to'], /one email address/)
  })

  // docs/packs/email.md: "Addresses are checked with zod's email pattern"
  it('refuses malformed addresses and empty lists', async () => {
    await refused({ ...base, to: 'not-an-address' }, ['to'], /one email address/)
    await refused({ ...base, to: [] }, ['to'], /at least one/)
  })

  // docs/packs/email.md: "`text`, `html` | string | at least one of them"
  it('refuses a message without a body, and unknown top-level keys', async () => {
    await refused({ to: 'bob@example.com', subject: 'x' }, ['text'], /text or an html body/)
    await refused({ ...base, Bcc: 'x@evil.com' }, [], /Unrecognized key/)
  })

  // docs/packs/email.md: "without it, every input needs a `from`"
  it('needs a from when the pack has no default', async () => {
    const noDefault = emailActions({ transport: { type: 'dev', dir: '/tmp/unused-by-this-test' }, retry: false })
    const err = await noDefault.sendEmail.execute(base).catch((e) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect(err.issues[0].path).toEqual(['from'])
  })

  // docs/packs/email.md: "`'"Doe, Jane" <jane@example.com>'`"
  it('accepts a quoted display name with a comma as one mailbox', async () => {
    const before = server.received.length
    await email.sendEmail.execute({ ...base, to: '"Doe, Jane" <jane@example.com>' })
    const to = server.received[before].mail.to
    const list = Array.isArray(to) ? to : [to]
    expect(list.flatMap((t) => t?.value ?? [])).toEqual([{ name: 'Doe, Jane', address: 'jane@example.com' }])
  })
})
