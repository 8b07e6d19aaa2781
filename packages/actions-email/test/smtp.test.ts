import { inspect } from 'node:util'
import { ActionFailedError, NonRetryableError, TimeoutError } from '@do-sdk/core'
import type { AddressObject } from 'mailparser'
import { afterEach, describe, expect, it } from 'vitest'
import { EmailDeliveryError, emailActions } from '../src/index.js'
import { recordingLogger } from './helpers/logger.js'
import { reply, type SmtpHooks, startSmtpServer, type TestSmtpServer } from './helpers/smtp-server.js'

const fast = { retries: 3, minTimeout: 2, factor: 1 }
const PASSWORD = 'hunter2-very-secret'

let server: TestSmtpServer | undefined
let closeActions: (() => Promise<void>) | undefined
afterEach(async () => {
  await closeActions?.()
  await server?.close()
  server = undefined
  closeActions = undefined
})

const setup = async (
  hooks: SmtpHooks = {},
  extra: { retry?: typeof fast | false; auth?: { user: string; pass: string }; timeout?: number } = {},
) => {
  server = await startSmtpServer(hooks)
  const email = emailActions({
    transport: { type: 'smtp', host: '127.0.0.1', port: server.port, secure: false, auth: extra.auth ?? hooks.auth },
    from: 'Acme <hello@acme.test>',
    retry: extra.retry ?? fast,
    ...(extra.timeout ? { timeout: extra.timeout } : {}),
  })
  closeActions = email.close
  return { server, email }
}

const addresses = (field: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((f) => f.value.map((v) => v.address))

describe('smtp transport against a real smtp-server', () => {
  // docs/packs/email.md: "Bcc goes into the SMTP envelope, never into a header"
  it('delivers every part of the message and reports the Message-ID it sent', async () => {
    const { server, email } = await setup()
    const out = await email.sendEmail.execute({
      from: { name: 'Jane Sender', address: 'jane@acme.test' },
      to: ['Bob <bob@example.com>', 'carol@example.com'],
      cc: 'dave@example.com',
      bcc: ['erin@example.com'],
      replyTo: 'support@acme.test',
      subject: 'Welcome, Bob — ça va?',
      text: 'Hello Bob',
      html: '<p>Hello <b>Bob</b></p>',
      headers: { 'X-Campaign': 'welcome-1', 'List-Unsubscribe': '<mailto:unsub@acme.test>' },
      attachments: [
        { filename: 'notes.txt', content: 'plain notes', contentType: 'text/plain' },
        { filename: 'bytes.bin', content: Buffer.from([0, 1, 2, 250]).toString('base64'), encoding: 'base64' },
      ],
      tags: [{ name: 'category', value: 'welcome' }],
    })

    expect(server.received).toHaveLength(1)
    const { mail, envelope } = server.received[0]
    expect(mail.subject).toBe('Welcome, Bob — ça va?')
    expect(mail.from?.value[0]).toMatchObject({ name: 'Jane Sender', address: 'jane@acme.test' })
    expect(addresses(mail.to)).toEqual(['bob@example.com', 'carol@example.com'])
    expect(addresses(mail.cc)).toEqual(['dave@example.com'])
    expect(addresses(mail.replyTo)).toEqual(['support@acme.test'])
    // Bcc is in the envelope only, never in the headers.
    expect(mail.bcc).toBeUndefined()
    expect(server.received[0].raw).not.toMatch(/^bcc:/im)
    expect(envelope.to.sort()).toEqual(['bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com'])
    expect(envelope.from).toBe('jane@acme.test')
    expect(mail.text?.trim()).toBe('Hello Bob')
    expect(mail.html).toContain('<p>Hello <b>Bob</b></p>')
    expect(mail.headers.get('x-campaign')).toBe('welcome-1')
    expect(mail.headers.get('x-tags')).toBe('category=welcome')
    expect(String(mail.headers.get('list-unsubscribe') ?? JSON.stringify(mail.headers.get('list')))).toContain('unsub@acme.test')
    expect(mail.attachments.map((a) => [a.filename, a.contentType, a.content.toString('hex')])).toEqual([
      ['notes.txt', 'text/plain', Buffer.from('plain notes').toString('hex')],
      ['bytes.bin', 'application/octet-stream', '000102fa'],
    ])

    expect(out.provider).toBe('smtp')
    expect(out.messageId).toMatch(/^<[0-9a-f]{40}@acme\.test>$/)
    expect(mail.messageId).toBe(out.messageId)
    expect(out.accepted.sort()).toEqual(envelope.to)
    expect(out.rejected).toEqual([])
    expect(out.response).toMatch(/^250/)
  })

  // docs/packs/email.md: "the Message-ID is derived from the key"
  it('derives the Message-ID from the idempotency key: same key, same id; another key, another id', async () => {
    const { server, email } = await setup()
    const input = { to: 'bob@example.com', subject: 'Hi', text: 'x' }
    const a = await email.sendEmail.execute(input, { idempotencyKey: 'run-1:step-1' })
    const b = await email.sendEmail.execute(input, { idempotencyKey: 'run-1:step-1' })
    const c = await email.sendEmail.execute(input, { idempotencyKey: 'run-1:step-2' })
    expect(a.messageId).toBe(b.messageId)
    expect(c.messageId).not.toBe(a.messageId)
    expect(server.received.map((r) => r.mail.messageId)).toEqual([a.messageId, a.messageId, c.messageId])
    // The key itself (it may name a user) never shows in the message.
    expect(server.received[0].raw).not.toContain('run-1')
    // The default from option was used.
    expect(server.received[0].mail.from?.value[0]).toMatchObject({ name: 'Acme', address: 'hello@acme.test' })
  })

  // docs/packs/email.md: "`auth` | none | `{ user, pass }`"
  it('logs in with the configured credentials', async () => {
    const { server, email } = await setup({ auth: { user: 'app', pass: PASSWORD } })
    await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' })
    expect(server.counts.logins).toBe(1)
    expect(server.received).toHaveLength(1)
  })

  // docs/packs/email.md: "The SMTP password (as written and as its `AUTH PLAIN`/`LOGIN` base64 tokens)"
  it('fails a refused login at once, without the password in the error, its causes or the logs', async () => {
    const { server, email } = await setup(
      { auth: { user: 'app', pass: 'the-right-one' }, authFailure: (_u, p) => reply(535, `Authentication failed for password ${p}`) },
      { auth: { user: 'app', pass: PASSWORD } },
    )
    const { lines, log } = recordingLogger()
    const err = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' }, { log }).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/535/)
    expect(err.cause).toBeInstanceOf(EmailDeliveryError)
    expect(err.cause.responseCode).toBe(535)
    expect(server.counts.logins).toBe(1)
    expect(server.received).toHaveLength(0)
    const everything = `${inspect(err, { depth: 10 })} ${JSON.stringify(lines)}`
    expect(everything).toContain('[redacted]')
    expect(everything).not.toContain(PASSWORD)
    expect(everything).not.toContain(Buffer.from(PASSWORD).toString('base64'))
  })

  // docs/packs/email.md: "SMTP 4xx reply (421, 450, 451, 452…) or 503 | `EmailDeliveryError` (`responseCode`) | yes"
  it('retries a 451 reply and sends the same Message-ID on both attempts', async () => {
    const { server, email } = await setup({ onData: (_mail, n) => (n === 1 ? reply(451, 'Greylisted, try again') : undefined) })
    const out = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Retry me', text: 'x' })
    expect(server.seen).toHaveLength(2)
    expect(server.received).toHaveLength(1)
    expect(server.seen[0].messageId).toBe(server.seen[1].messageId)
    expect(out.messageId).toBe(server.seen[0].messageId)
  })

  // docs/packs/email.md: "SMTP 4xx reply (421, 450, 451, 452…) or 503"
  it('retries when the server answers 421 on connect', async () => {
    const { server, email } = await setup({ onConnect: (n) => (n === 1 ? reply(421, 'Too busy') : undefined) })
    await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' })
    expect(server.counts.connections).toBe(2)
    expect(server.received).toHaveLength(1)
  })

  // docs/packs/email.md: "After the last attempt, `execute` throws core's `ActionFailedError` whose `cause` is the last error."
  // docs/packs/email.md: "Every attempt opens its own connection (no pool)."
  it('gives up after the retries on a lasting 452 and keeps the reply code in the cause', async () => {
    const { server, email } = await setup({ onRcptTo: () => reply(452, 'Mailbox full for now') })
    const err = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.attempts).toBe(4)
    expect(err.cause).toBeInstanceOf(EmailDeliveryError)
    expect(err.cause.responseCode).toBe(452)
    expect(server.counts.connections).toBe(4)
  })

  // docs/packs/email.md: "SMTP 5xx reply (550, 553, 554, 535 login refused…) | `NonRetryableError`, `cause` an `EmailDeliveryError` | no"
  it('does not retry a 550 reply: NonRetryableError after one attempt', async () => {
    const { server, email } = await setup({ onRcptTo: () => reply(550, 'No such user') })
    const err = await email.sendEmail.execute({ to: 'nobody@example.com', subject: 'Hi', text: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/550/)
    expect(err.cause.responseCode).toBe(550)
    expect(server.counts.connections).toBe(1)
    expect(server.received).toHaveLength(0)
  })

  // docs/packs/email.md: "SMTP 5xx reply (550, 553, 554, 535 login refused…)"
  it('does not retry a 554 after DATA', async () => {
    const { server, email } = await setup({ onData: () => reply(554, 'Message rejected as spam') })
    const err = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.cause.responseCode).toBe(554)
    expect(server.seen).toHaveLength(1)
  })

  // docs/packs/email.md: "recipients the SMTP server refused while it accepted the others (the message went to the rest; it is not retried)"
  it('reports recipients refused while the others were accepted, without retrying', async () => {
    const { server, email } = await setup({ onRcptTo: (a) => (a === 'gone@example.com' ? reply(550, 'No such user') : undefined) })
    const out = await email.sendEmail.execute({ to: ['bob@example.com', 'gone@example.com'], subject: 'Hi', text: 'x' })
    expect(out.accepted).toEqual(['bob@example.com'])
    expect(out.rejected).toEqual(['gone@example.com'])
    expect(server.received).toHaveLength(1)
    expect(server.received[0].envelope.to).toEqual(['bob@example.com'])
  })

  // docs/packs/email.md: "SMTP connection refused, dropped, timed out, TLS failure | `EmailDeliveryError`"
  it('retries when nothing listens, then fails with the connection error', async () => {
    const { server, email } = await setup({}, { retry: { retries: 1, minTimeout: 1, factor: 1 } })
    await server.close()
    const err = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(ActionFailedError)
    expect(err.attempts).toBe(2)
    expect(err.cause.providerCode).toBe('ESOCKET')
  })

  // docs/packs/email.md: "per-attempt timeout; the attempt's `AbortSignal` is passed to nodemailer and fetch"
  it('aborts an attempt the server leaves hanging when the timeout passes', async () => {
    const { server, email } = await setup({ hangOnData: true }, { retry: false, timeout: 300 })
    const started = Date.now()
    const err = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Hi', text: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(server.seen).toHaveLength(1)
    expect(server.received).toHaveLength(0)
  })
})
