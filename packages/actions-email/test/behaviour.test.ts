import { NonRetryableError } from '@do-sdk/core'
import { afterEach, describe, expect, it } from 'vitest'
import { emailActions } from '../src/index.js'
import { recordingLogger } from './helpers/logger.js'
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server.js'

let server: TestSmtpServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('docs/packs/email.md, SMTP and logs', () => {
  // docs/packs/email.md: "`requireTLS` | `false` | refuse to continue in clear text when STARTTLS is not offered"
  it('requireTLS: a server without STARTTLS gets no message, and the failure is not retried', async () => {
    server = await startSmtpServer()
    const email = emailActions({
      transport: { type: 'smtp', host: '127.0.0.1', port: server.port, requireTLS: true, auth: { user: 'app', pass: 'pw-SECRET' } },
      from: 'hello@acme.test',
      retry: { retries: 3, minTimeout: 1 },
    })
    const err = await email.sendEmail.execute({ to: 'bob@example.com', subject: 'Secret', text: 'in clear text?' }).catch((e) => e)
    expect(err).toBeInstanceOf(NonRetryableError)
    expect(err.message).toMatch(/STARTTLS/)
    expect(server.counts).toEqual({ connections: 1, logins: 0 })
    expect(server.seen).toHaveLength(0)
    await email.close()
  })

  // docs/packs/email.md: "The action logs `email: sending` (debug) and `email: sent` (info) with the action id, provider, attempt, Message-ID and recipient *counts*; no addresses, no content, no secrets."
  it('logs counts, never addresses, content or the password', async () => {
    server = await startSmtpServer({ auth: { user: 'app', pass: 'pw-SECRET-123' } })
    const email = emailActions({
      transport: { type: 'smtp', host: '127.0.0.1', port: server.port, auth: { user: 'app', pass: 'pw-SECRET-123' } },
      from: 'Sender Name <hello@acme.test>',
      retry: false,
    })
    const { lines, log } = recordingLogger()
    const out = await email.sendEmail.execute(
      {
        to: ['Bob Private <bob@example.com>', 'carol@example.com'],
        bcc: 'hidden@example.com',
        subject: 'Your diagnosis',
        text: 'confidential body',
        attachments: [{ filename: 'report.pdf', content: 'cGRm', encoding: 'base64' }],
      },
      { log },
    )
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['debug', 'email: sending'],
      ['info', 'email: sent'],
    ])
    expect(lines[0]?.fields).toEqual({ action: 'email.send', provider: 'smtp', attempt: 1, messageId: out.messageId })
    expect(lines[1]?.fields).toEqual({ action: 'email.send', provider: 'smtp', messageId: out.messageId, accepted: 3, rejected: 0 })
    const text = JSON.stringify(lines)
    for (const secret of ['example.com', 'Bob Private', 'Sender Name', 'diagnosis', 'confidential', 'report.pdf', 'pw-SECRET-123']) {
      expect(text).not.toContain(secret)
    }
    await email.close()
  })
})
