import { ValidationError } from '@do-sdk/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmailActions, emailActions, type SendEmailInput } from '../src/index.js'
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server.js'

// The refusals docs/packs/email.md promises, tried with hostile input against a real smtp-server
// that counts connections: "refused" means no connection was even opened.

const base = { to: 'bob@example.com', subject: 'Hello', text: 'Body' }
const many = (n: number, domain = 'example.com') => Array.from({ length: n }, (_, i) => `u${i}@${domain}`)

let server: TestSmtpServer
let email: EmailActions
beforeAll(async () => {
  server = await startSmtpServer()
  email = emailActions({ transport: { type: 'smtp', host: '127.0.0.1', port: server.port }, from: 'hello@acme.test', retry: false })
})
afterAll(async () => {
  await email.close()
  await server.close()
})

const refused = async (input: unknown, path: (string | number)[], message: RegExp, actions = email) => {
  const before = server.counts.connections
  const err = await actions.sendEmail.execute(input as SendEmailInput).catch((e) => e)
  expect(err, JSON.stringify(input)).toBeInstanceOf(ValidationError)
  expect(err.issues, JSON.stringify(input)).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }))
  expect(server.counts.connections).toBe(before)
}

describe('docs/packs/email.md, Input', () => {
  // docs/packs/email.md: "A string holds exactly one mailbox: `'a@x.com, b@y.com'` is refused (use an array), and so is a display name holding `, ; < > @ :` or `"` unless it is quoted"
  it.each([
    'a@x.com, b@y.com',
    'a@x.com; b@y.com',
    'a@x.com, Bob <b@y.com>',
    '<a@x.com>, <b@y.com>',
    '"a" <b@y.com>, "c" <d@z.com>',
    'Bob <b@y.com>, carol@z.com',
    'undisclosed-recipients: a@x.com;',
    'Jane "JD" <j@x.com>',
  ])('refuses %j instead of silently dropping a recipient', async (to) => {
    await refused({ ...base, to }, ['to'], /one mailbox|one email address/)
    await refused({ ...base, cc: [to] }, ['cc', 0], /one mailbox|one email address/)
  })

  // docs/packs/email.md: "`'"Doe, Jane" <jane@example.com>'`"
  it('a quoted display name may hold specials and escaped quotes', async () => {
    const before = server.received.length
    await email.sendEmail.execute({ ...base, to: ['"Doe, Jane <boss@x.com>" <jane@example.com>', '"say \\"hi\\"" <b@example.com>'] })
    const { mail, envelope } = server.received[before]!
    expect(envelope.to).toEqual(['jane@example.com', 'b@example.com'])
    const to = Array.isArray(mail.to) ? mail.to : [mail.to]
    expect(to.flatMap((t) => t?.value ?? []).map((v) => v.name)).toEqual(['Doe, Jane <boss@x.com>', 'say "hi"'])
  })

  // docs/packs/email.md: "Addresses are checked with zod's email pattern (ASCII addresses; internationalized addresses are not accepted yet)."
  it('refuses internationalized and malformed addresses', async () => {
    for (const to of ['jöhn@exämple.com', 'bob@', '@example.com', 'bob@example', 'bob@@example.com', `${'a'.repeat(250)}@x.com`]) {
      await refused({ ...base, to }, ['to'], /one email address/)
    }
  })

  // docs/packs/email.md: "`to` | address or address[] | required, 1 to 50"
  it('enforces the list sizes: to 1-50, cc and bcc up to 50, replyTo up to 10, attachments and tags up to 20', async () => {
    await refused({ ...base, to: many(51) }, ['to'], /at most 50/)
    await refused({ ...base, cc: many(51) }, ['cc'], /at most 50/)
    await refused({ ...base, bcc: many(51) }, ['bcc'], /at most 50/)
    await refused({ ...base, replyTo: many(11) }, ['replyTo'], /at most 10/)
    const attachments = Array.from({ length: 21 }, (_, i) => ({ filename: `f${i}.txt`, content: 'x' }))
    await refused({ ...base, attachments }, ['attachments'], /<=20/)
    const tags = Array.from({ length: 21 }, (_, i) => ({ name: `t${i}`, value: 'v' }))
    await refused({ ...base, tags }, ['tags'], /<=20/)
    const before = server.received.length
    await email.sendEmail.execute({ ...base, to: many(50) })
    expect(server.received[before]?.envelope.to).toHaveLength(50)
  })

  // docs/packs/email.md: "`subject` | string | required, at most 998 characters"
  it('refuses a subject over 998 characters and a missing one', async () => {
    await refused({ ...base, subject: 'x'.repeat(999) }, ['subject'], /<=998/)
    await refused({ to: base.to, text: 'x' }, ['subject'], /expected string/)
  })

  // docs/packs/email.md: "`tags` | `{ name, value }[]` | up to 20; letters, digits, `_` and `-`"
  it('refuses tag names and values that could forge another tag in the X-Tags header', async () => {
    for (const tag of [
      { name: 'a=b', value: 'c' },
      { name: 'a', value: 'b; admin=true' },
      { name: 'a', value: 'b\r\nBcc: x@evil.com' },
      { name: '', value: 'v' },
      { name: 'ü', value: 'v' },
    ]) {
      const err = await email.sendEmail.execute({ ...base, tags: [tag] }).catch((e) => e)
      expect(err, JSON.stringify(tag)).toBeInstanceOf(ValidationError)
      expect(err.issues[0].path.slice(0, 2)).toEqual(['tags', 0])
    }
  })

  // docs/packs/email.md: "Unknown top-level keys are refused."
  it('refuses text or html given as a file or URL reference, and unknown keys at any level', async () => {
    await refused({ to: base.to, subject: 'x', text: { path: '/etc/passwd' } }, ['text'], /expected string/)
    await refused({ to: base.to, subject: 'x', html: { href: 'http://169.254.169.254/' } }, ['html'], /expected string/)
    await refused({ ...base, raw: 'From: x@evil.com\r\n\r\nhi' }, [], /Unrecognized key/)
    await refused({ ...base, envelope: { to: 'x@evil.com' } }, [], /Unrecognized key/)
  })

  // docs/packs/email.md: "An own `__proto__` key anywhere in the input is refused too (zod would drop it silently)"
  it('refuses an own __proto__ key in headers, addresses and attachments (zod would drop it silently)', async () => {
    const withProto = (value: object) => Object.assign(JSON.parse('{"__proto__": "x"}'), value)
    await refused({ ...base, headers: withProto({ 'X-A': '1' }) }, ['headers', '__proto__'], /__proto__/)
    await refused({ ...base, to: withProto({ address: 'bob@example.com' }) }, ['to', '__proto__'], /__proto__/)
    await refused({ ...base, attachments: [withProto({ filename: 'a.txt', content: 'x' })] }, ['attachments', 0, '__proto__'], /__proto__/)
  })
})

describe('docs/packs/email.md, Safety', () => {
  // docs/packs/email.md: "Names that have their own field or belong to the transport are refused everywhere, even in `allowedHeaders`"
  it.each([
    'From',
    'sender',
    'TO',
    'Cc',
    'Bcc',
    'Reply-To',
    'Subject',
    'Date',
    'Message-ID',
    'Return-Path',
    'Received',
    'MIME-Version',
    'Content-Type',
    'Content-Transfer-Encoding',
    'content-disposition',
    'Resent-To',
    'Resent-Bcc',
    'DKIM-Signature',
    'ARC-Seal',
    'Authentication-Results',
    'Disposition-Notification-To',
  ])('refuses %s in input.headers and in allowedHeaders', async (name) => {
    await refused({ ...base, headers: { [name]: 'x@evil.com' } }, ['headers', name], /set by the email pack/)
    expect(() => emailActions({ transport: { type: 'dev', dir: '/tmp/unused' }, allowedHeaders: [name] })).toThrow(
      /Invalid option "allowedHeaders.0": .*set by the email pack/,
    )
  })

  // docs/packs/email.md: "`input.headers` accepts `X-*` names and `List-Unsubscribe`"
  it('refuses constructor, prototype and other names outside the list like any other name', async () => {
    for (const name of ['constructor', 'prototype', 'toString', 'Organization']) {
      await refused({ ...base, headers: { [name]: 'x' } }, ['headers', name], /not an allowed header/)
    }
  })

  // docs/packs/email.md: "CR, LF and NUL are refused, with a `ValidationError` naming the field, in every string that ends up in a header"
  it.each(['\r', '\n', '\0', '\r\n'])('refuses %j in every header-bound string', async (brk) => {
    const inject = `x${brk}Bcc: spy@evil.com`
    for (const [input, path] of [
      [{ ...base, subject: inject }, ['subject']],
      [{ ...base, from: `Jane${brk} <jane@acme.test>` }, ['from']],
      [{ ...base, to: { name: inject, address: 'bob@example.com' } }, ['to', 'name']],
      [{ ...base, bcc: [{ address: `b@example.com${brk}` }] }, ['bcc', 0, 'address']],
      [{ ...base, replyTo: `${inject} <r@example.com>` }, ['replyTo']],
      [{ ...base, headers: { 'X-Note': inject } }, ['headers', 'X-Note']],
      [{ ...base, headers: { 'List-Unsubscribe': `<mailto:u@x.com>${brk}` } }, ['headers', 'List-Unsubscribe']],
      [{ ...base, attachments: [{ filename: `a${brk}.txt`, content: 'x' }] }, ['attachments', 0, 'filename']],
      [{ ...base, attachments: [{ filename: 'a.txt', content: 'x', contentType: `text/plain${brk}` }] }, ['attachments', 0, 'contentType']],
      [{ ...base, attachments: [{ filename: 'a.txt', content: 'x', contentId: `logo${brk}` }] }, ['attachments', 0, 'contentId']],
    ] as const) {
      await refused(input, path as unknown as (string | number)[], /CR, LF or NUL|must be|one mailbox|one email address/)
    }
  })
})
