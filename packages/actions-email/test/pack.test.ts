import { type Action, action, InvalidArgumentError, type PluginContext } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { emailActions } from '../src/index.js'

const dev = { type: 'dev', dir: '/tmp/do-sdk-email-unused' } as const

const optionError = (options: unknown): InvalidArgumentError => {
  try {
    emailActions(options as never)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError)
    return error as InvalidArgumentError
  }
  throw new Error('expected emailActions() to throw')
}

describe('emailActions options', () => {
  it.each<[string, unknown, RegExp]>([
    ['no options', undefined, /needs an options object/],
    ['no transport', {}, /"transport"/],
    ['unknown transport', { transport: { type: 'carrier-pigeon' } }, /"transport.type": must be \{ type: "smtp"/],
    ['bad port', { transport: { type: 'smtp', host: 'h', port: 70000 } }, /"transport.port"/],
    ['misspelt key', { transport: { type: 'postmark', serverTocken: 'x' } }, /"transport.serverToken".*serverTocken/],
    ['missing api key', { transport: { type: 'resend' } }, /"transport.apiKey"/],
    [
      'non-http base URL',
      { transport: { type: 'resend', apiKey: 'k', baseUrl: 'file:///etc' } },
      /"transport.baseUrl": must be an http\(s\) URL/,
    ],
    ['empty dev dir', { transport: { type: 'dev', dir: '' } }, /"transport.dir"/],
    ['injected from', { transport: dev, from: 'A\r\nBcc: x@evil.com <a@acme.test>' }, /"from": must not contain CR, LF or NUL/],
    ['bad from address', { transport: dev, from: { address: 'nope' } }, /"from.address"/],
    ['reserved allowed header', { transport: dev, allowedHeaders: ['Bcc'] }, /"allowedHeaders.0"/],
    ['bad namespace', { transport: dev, namespace: 'has space' }, /"namespace"/],
    ['bad retry', { transport: dev, retry: { retries: -1 } }, /"retry.retries"/],
    ['bad messageIdDomain', { transport: dev, messageIdDomain: 'not a domain' }, /"messageIdDomain"/],
    // docs/packs/email.md: "`emailActions(options)` throws an `InvalidArgumentError` naming the bad option"
  ])('%s', (_label, options, message) => {
    expect(optionError(options).message).toMatch(message)
  })

  // docs/packs/email.md: "Secret values are never part of these messages."
  it('never echoes a secret given in a bad option set', () => {
    const err = optionError({ transport: { type: 'smtp', host: '', auth: { user: 'u', pass: 'p4ssw0rd-secret' } } })
    expect(err.message).toMatch(/"transport.host"/)
    expect(err.message).not.toContain('p4ssw0rd-secret')
    const err2 = optionError({ transport: { type: 'resend', apiKey: 're_key_secret', baseUrl: 'nope' } })
    expect(err2.message).not.toContain('re_key_secret')
  })
})

describe('the pack', () => {
  // docs/packs/email.md: "the action id is `<namespace>.send`"
  it('names its action after the namespace and registers it through the plugin', () => {
    const email = emailActions({ transport: dev, from: 'hello@acme.test' })
    expect(email.sendEmail.id).toBe('email.send')
    expect(email.actions).toEqual([email.sendEmail])
    expect(email.plugin.name).toBe('@do-sdk/actions-email')

    const registered: Action[] = []
    const ctx = { registerAction: (a: Action) => registered.push(a) } as unknown as PluginContext
    email.plugin.setup(ctx)
    expect(registered.map((a) => a.id)).toEqual(['email.send'])

    const marketing = emailActions({ transport: dev, from: 'news@acme.test', namespace: 'marketing' })
    expect(marketing.sendEmail.id).toBe('marketing.send')
    expect(marketing.plugin.name).toBe('@do-sdk/actions-email:marketing')
  })

  // docs/packs/email.md: "`retry` | `{ retries: 3, minTimeout: 1000, factor: 2 }`"
  it('describes its input and output as JSON Schema and uses the documented retry default', () => {
    const email = emailActions({ transport: dev, from: 'hello@acme.test' })
    const [described] = action.catalog(email.actions)
    expect(described.id).toBe('email.send')
    expect(Object.keys((described.inputSchema as { properties: object }).properties)).toEqual(
      expect.arrayContaining(['from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'text', 'html', 'headers', 'attachments', 'tags']),
    )
    expect((described.outputSchema as { required: string[] }).required).toEqual(['provider', 'messageId', 'accepted', 'rejected'])
    expect(described.retry).toMatchObject({ retries: 3, minTimeout: 1000, factor: 2 })
    expect(described.timeoutMs).toBe(60_000)
  })
})
