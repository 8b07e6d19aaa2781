import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer, type SMTPServerAddress } from 'smtp-server'

/** A message as the test server received it. */
export interface ReceivedMail {
  envelope: { from: string; to: string[] }
  raw: string
  mail: ParsedMail
}

/** An SMTP reply to send instead of accepting: `reply(451, 'Try again later')`. */
export const reply = (responseCode: number, message: string): Error => Object.assign(new Error(message), { responseCode })

export interface SmtpHooks {
  /** Require this login (AUTH PLAIN/LOGIN over the clear-text local connection). */
  auth?: { user: string; pass: string }
  /** Runs on each connection (1-based count); return an error reply to refuse it. */
  onConnect?: (n: number) => Error | undefined
  /** Runs per RCPT TO; return an error reply to refuse that recipient. */
  onRcptTo?: (address: string) => Error | undefined
  /** Runs after each DATA with the parsed message (1-based count); return an error reply to refuse it. */
  onData?: (mail: ParsedMail, n: number) => Error | undefined
  /** Never answer the end of DATA (to test timeouts). */
  hangOnData?: boolean
  /** What a failed login answers (may echo the credentials, to test redaction). */
  authFailure?: (user: string, pass: string) => Error
}

export interface TestSmtpServer {
  port: number
  /** Messages accepted. */
  received: ReceivedMail[]
  /** Every DATA the server read, accepted or not. */
  seen: ParsedMail[]
  counts: { connections: number; logins: number }
  close(): Promise<void>
}

/** A real smtp-server on 127.0.0.1 and a free port, answering as the hooks say. */
export const startSmtpServer = async (hooks: SmtpHooks = {}): Promise<TestSmtpServer> => {
  const received: ReceivedMail[] = []
  const seen: ParsedMail[] = []
  const counts = { connections: 0, logins: 0 }
  const server = new SMTPServer({
    secure: false,
    logger: false,
    disableReverseLookup: true,
    disabledCommands: hooks.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !hooks.auth,
    allowInsecureAuth: true,
    onConnect(_session, callback) {
      counts.connections++
      callback(hooks.onConnect?.(counts.connections) ?? null)
    },
    onAuth(auth, _session, callback) {
      counts.logins++
      if (auth.username === hooks.auth?.user && auth.password === hooks.auth?.pass) return callback(null, { user: auth.username })
      callback(hooks.authFailure?.(auth.username ?? '', auth.password ?? '') ?? reply(535, 'Authentication failed'))
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      callback(hooks.onRcptTo?.(address.address) ?? null)
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const mail = await simpleParser(raw)
        seen.push(mail)
        if (hooks.hangOnData) return
        const refusal = hooks.onData?.(mail, seen.length)
        if (refusal) return callback(refusal)
        const from = session.envelope.mailFrom
        received.push({
          envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
          raw,
          mail,
        })
        callback(null)
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.server.address() as AddressInfo
  return {
    port,
    received,
    seen,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
