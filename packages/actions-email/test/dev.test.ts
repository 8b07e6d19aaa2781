import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { simpleParser } from 'mailparser'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { emailActions } from '../src/index.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'do-sdk-email-dev-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('dev transport', () => {
  // docs/packs/email.md: "nodemailer builds the real RFC 822 message (CRLF line ends, MIME parts, attachments)"
  it('writes one parseable .eml file per message and returns its path', async () => {
    const outDir = join(dir, 'outbox', 'nested')
    const email = emailActions({ transport: { type: 'dev', dir: outDir }, from: 'Acme <hello@acme.test>' })
    const out = await email.sendEmail.execute({
      to: 'Bob <bob@example.com>',
      bcc: 'audit@acme.test',
      subject: 'Your receipt',
      text: 'Thanks!',
      html: '<p>Thanks!</p>',
      headers: { 'X-Order': '42' },
      attachments: [{ filename: 'receipt.txt', content: 'total: 10' }],
    })
    expect(out.provider).toBe('dev')
    expect(isAbsolute(out.file ?? '')).toBe(true)
    expect(out.file?.startsWith(outDir)).toBe(true)
    expect(out.file).toMatch(/\.eml$/)
    expect(out.accepted).toEqual(['bob@example.com', 'audit@acme.test'])

    const raw = await readFile(out.file as string)
    expect(raw.includes('\r\n')).toBe(true)
    const mail = await simpleParser(raw)
    expect(mail.subject).toBe('Your receipt')
    expect(mail.from?.value[0]).toMatchObject({ name: 'Acme', address: 'hello@acme.test' })
    expect(mail.text?.trim()).toBe('Thanks!')
    expect(mail.html).toContain('<p>Thanks!</p>')
    expect(mail.headers.get('x-order')).toBe('42')
    expect(mail.messageId).toBe(out.messageId)
    expect(mail.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['receipt.txt', 'total: 10']])
    expect(await readdir(outDir)).toEqual([out.file?.slice(outDir.length + 1)])
  })

  // docs/packs/email.md: "the file is named after the derived Message-ID, so a retry replaces its own file"
  it('rewrites the same file when an attempt is retried with the same key', async () => {
    const email = emailActions({ transport: { type: 'dev', dir }, from: 'hello@acme.test' })
    const input = { to: 'bob@example.com', subject: 'Once', text: 'x' }
    const a = await email.sendEmail.execute(input, { idempotencyKey: 'run-9:step-1' })
    const b = await email.sendEmail.execute(input, { idempotencyKey: 'run-9:step-1' })
    const c = await email.sendEmail.execute(input, { idempotencyKey: 'run-9:step-2' })
    expect(b.file).toBe(a.file)
    expect(c.file).not.toBe(a.file)
    expect((await readdir(dir)).sort()).toEqual([a.file, c.file].map((f) => relative(dir, f as string)).sort())
  })

  // docs/packs/email.md: "a relative path is resolved against the working directory when `emailActions()` is called"
  it('resolves a relative dir against the working directory', async () => {
    const rel = relative(process.cwd(), join(dir, 'rel'))
    const email = emailActions({ transport: { type: 'dev', dir: rel }, from: 'hello@acme.test' })
    const out = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'x', text: 'x' })
    expect(out.file?.startsWith(join(dir, 'rel'))).toBe(true)
  })

  // docs/packs/email.md: "Bcc goes into the SMTP envelope, never into a header"
  it("never writes the Bcc header into the .eml (nodemailer's stream transport would keep it)", async () => {
    const email = emailActions({ transport: { type: 'dev', dir }, from: 'hello@acme.test' })
    const out = await email.sendEmail.execute({
      to: 'bob@example.com',
      cc: 'carol@example.com',
      bcc: ['Spy <spy@example.com>', 'audit@acme.test'],
      subject: 'x',
      text: 'x',
    })
    const raw = await readFile(out.file as string, 'utf8')
    expect(raw).not.toMatch(/^bcc:/im)
    expect(raw).not.toContain('spy@example.com')
    expect(raw).not.toContain('audit@acme.test')
    const mail = await simpleParser(raw)
    expect(mail.bcc).toBeUndefined()
    expect(mail.cc).toMatchObject({ value: [{ address: 'carol@example.com' }] })
    expect(out.accepted).toEqual(['bob@example.com', 'carol@example.com', 'spy@example.com', 'audit@acme.test'])
  })
})
