import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createTransport } from 'nodemailer'
import { recipientsOf } from '../message.js'
import type { DevTransportOptions } from '../options.js'
import { toMailOptions } from './mail-options.js'
import type { EmailTransport } from './types.js'

/** `<3f2a…@acme.test>` → `3f2a…@acme.test`, with anything unsafe in a file name replaced. */
const fileStem = (messageId: string) => messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_')

/**
 * Writes each message as a real RFC 822 `.eml` file (nodemailer builds the MIME message) instead of
 * sending it. The file is named after the Message-ID, which comes from the idempotency key, so a
 * retried attempt replaces its own file rather than adding a second one.
 */
export const devTransport = (options: DevTransportOptions): EmailTransport => {
  const dir = resolve(options.dir)
  const composer = createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    disableFileAccess: true,
    disableUrlAccess: true,
  })
  return {
    provider: 'dev',
    async send(message, ctx) {
      // nodemailer's stream transport keeps the Bcc header (it has no envelope to put it in): a dev .eml,
      // like a delivered message, must not show who was blind-copied.
      const info = await composer.sendMail({ ...toMailOptions(message, ctx.signal), bcc: undefined })
      const file = join(dir, `${fileStem(message.messageId)}.eml`)
      const temp = `${file}.${process.pid}.tmp`
      await mkdir(dir, { recursive: true })
      // Written aside and renamed, so that a reader never sees half a message.
      await writeFile(temp, info.message as Buffer, { signal: ctx.signal })
      await rename(temp, file)
      return { messageId: info.messageId || message.messageId, accepted: recipientsOf(message), rejected: [], file }
    },
    async close() {},
  }
}
