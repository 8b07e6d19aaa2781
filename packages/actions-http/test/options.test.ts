import { action, InvalidArgumentError } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { type HttpActionsOptions, httpActions } from '../src/index.js'
import { resolveOptions } from '../src/options.js'

const invalid = (options: unknown, option: string, message: RegExp) => {
  const attempt = () => httpActions(options as HttpActionsOptions)
  expect(attempt).toThrow(InvalidArgumentError)
  expect(attempt).toThrow(`[do-sdk] [http] Invalid option "${option}": `)
  expect(attempt).toThrow(message)
}

describe('httpActions options', () => {
  // docs/packs/http.md: "`httpActions(options)` throws an `InvalidArgumentError` naming the bad option"
  it('refuses bad options at setup, naming the option', () => {
    invalid({ baseUrl: 'ftp://files.example.com' }, 'baseUrl', /absolute http\(s\) URL/)
    invalid({ baseUrl: '/relative' }, 'baseUrl', /absolute http\(s\) URL/)
    invalid({ baseUrl: 'https://u:p@api.example.com' }, 'baseUrl', /credentials/)
    invalid({ namespace: 'has space' }, 'namespace', /letters, digits/)
    invalid({ maxRedirects: -1 }, 'maxRedirects', />=0/)
    invalid({ maxRedirects: 1.5 }, 'maxRedirects', /expected int/)
    invalid({ maxResponseBytes: 0 }, 'maxResponseBytes', />0/)
    invalid({ timeouts: { connect: 'soon' } }, 'timeouts.connect', /duration like "30s"/)
    invalid({ timeouts: { total: -5 } }, 'timeouts.total', /ms >= 0/)
    invalid({ timeouts: { overall: 5 } }, 'timeouts', /overall/)
    invalid({ retry: { retries: -1 } }, 'retry.retries', />=0/)
    invalid({ allow: ['127.0.0.1', 'not a host!'] }, 'allow[1]', /"not a host!" is not a valid host name/)
    invalid({ allow: ['10.0.0.0/99'] }, 'allow[0]', /not a valid network/)
    invalid({ auth: { type: 'bearer', token: '' } }, 'auth.token', /at least 1|>=1/)
    invalid({ auth: { type: 'oauth' } }, 'auth.type', /Invalid/)
    invalid({ auth: { type: 'header', name: 'bad name', value: 'v' } }, 'auth.name', /header name/)
    invalid({ auth: { type: 'basic', username: 'a:b', password: 'p' } }, 'auth.username', /":"/)
    invalid({ headers: { Authorization: 'Bearer x' } }, 'headers.Authorization', /use the auth option/)
    invalid({ headers: { 'X-Ok': 'a\nb' } }, 'headers.X-Ok', /CR, LF or NUL/)
    invalid({ idempotencyHeader: 'Idem Key' }, 'idempotencyHeader', /header name/)
    invalid({ sendIdempotencyKey: 'yes' }, 'sendIdempotencyKey', /boolean/)
    invalid({ proxy: 'http://proxy' }, '(options)', /proxy/)
  })

  // docs/packs/http.md: "Secret values never appear in these messages"
  it('never echoes a secret in an option error', () => {
    const attempt = () => httpActions({ auth: { type: 'bearer', token: 'tok_SECRET\n' } })
    expect(attempt).toThrow(/auth.token/)
    try {
      attempt()
    } catch (error) {
      expect((error as Error).message).not.toContain('SECRET')
    }
  })

  // docs/packs/http.md: "`all` lists the eight actions; `plugin` registers them"
  it('returns named actions with ids under its name, and a plugin that registers them all', async () => {
    const github = httpActions({ namespace: 'github', baseUrl: 'https://api.github.com' })
    expect(github.all.map((a) => a.id)).toEqual([
      'github.request',
      'github.get',
      'github.head',
      'github.options',
      'github.post',
      'github.put',
      'github.patch',
      'github.delete',
    ])
    expect(action.isAction(github.get)).toBe(true)
    const registered: string[] = []
    expect(github.plugin.name).toBe('@do-sdk/actions-http:github')
    await github.plugin.setup({ registerAction: (a: { id: string }) => registered.push(a.id), on: () => () => {}, log: console } as never)
    expect(registered).toEqual(github.all.map((a) => a.id))
    const plain = httpActions()
    expect(plain.request.id).toBe('http.request')
    expect(plain.plugin.name).toBe('@do-sdk/actions-http')
    await github.close()
  })

  // docs/packs/http.md: "`retry` … `{ retries: 3, minTimeout: 1000, factor: 2 }`"
  it('describes its input and output as JSON Schema (for catalogs and LLM tools)', () => {
    const http = httpActions()
    const described = http.request.describe()
    expect(described.description).toMatch(/Sends an HTTP request/)
    expect(described.inputSchema).toMatchObject({ type: 'object', required: ['url'] })
    expect(Object.keys((described.inputSchema as { properties: object }).properties)).toEqual(
      expect.arrayContaining(['method', 'url', 'query', 'headers', 'body', 'responseType', 'includeHeaders', 'idempotencyKey']),
    )
    expect(described.outputSchema).toMatchObject({ type: 'object' })
    expect(described.retry).toMatchObject({ retries: 3, minTimeout: 1000 })
    expect(httpActions({ retry: false }).get.retry.retries).toBe(0)
  })

  // docs/packs/http.md: "| `timeouts.connect`   | `10_000`"
  it('resolves the documented defaults', () => {
    expect(resolveOptions({})).toEqual({
      namespace: 'http',
      baseUrl: undefined,
      headers: {},
      auth: undefined,
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      totalTimeoutMs: 60_000,
      maxRedirects: 5,
      maxResponseBytes: 10 * 1024 * 1024,
      retry: undefined,
      allow: [],
      idempotencyHeader: 'idempotency-key',
      sendIdempotencyKey: false,
    })
    expect(resolveOptions({ timeouts: { connect: '2s', total: 500 } })).toMatchObject({ connectTimeoutMs: 2000, totalTimeoutMs: 500 })
  })
})
