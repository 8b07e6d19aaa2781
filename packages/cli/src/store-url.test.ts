import { describe, expect, it } from 'vitest'
import { UsageError } from './errors.js'
import { openStore, parseStoreUrl, redactUrl } from './store-url.js'

describe('parseStoreUrl', () => {
  it.each([
    ['sqlite:./do.db', { kind: 'sqlite', path: '/srv/app/do.db' }],
    ['sqlite:do.db', { kind: 'sqlite', path: '/srv/app/do.db' }],
    ['sqlite:/var/lib/do.db', { kind: 'sqlite', path: '/var/lib/do.db' }],
    ['sqlite:///var/lib/do.db', { kind: 'sqlite', path: '/var/lib/do.db' }],
    ['sqlite://./data/do.db', { kind: 'sqlite', path: '/srv/app/data/do.db' }],
    ['redis://127.0.0.1:6379', { kind: 'redis', url: 'redis://127.0.0.1:6379' }],
    ['rediss://:pw@cache.example.com:6380/2', { kind: 'redis', url: 'rediss://:pw@cache.example.com:6380/2' }],
    ['postgres://app:pw@db/app', { kind: 'postgres', connectionString: 'postgres://app:pw@db/app' }],
    ['postgresql://db/app?sslmode=require', { kind: 'postgres', connectionString: 'postgresql://db/app?sslmode=require' }],
  ])('%s', (url, spec) => {
    expect(parseStoreUrl(url, '/srv/app')).toEqual(spec)
  })

  it.each([
    ['sqlite:', /names no file/],
    ['sqlite::memory:', /private in-memory database/],
    ['./do.db', /Not a store URL: "\.\/do\.db"/],
    ['mysql://db/app', /Unknown store URL scheme "mysql:"/],
    ['redis://', /names no host/],
  ])('refuses %s with a usage error', (url, message) => {
    expect(() => parseStoreUrl(url, '/srv/app')).toThrow(UsageError)
    expect(() => parseStoreUrl(url, '/srv/app')).toThrow(message)
  })

  it('hides passwords in messages', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/app')).toBe('postgres://app:***@db:5432/app')
    expect(redactUrl('rediss://:s3cret@cache:6380')).toBe('rediss://:***@cache:6380')
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379')
  })

  it('--schema is for PostgreSQL only, and a malformed namespace is a usage error', async () => {
    await expect(openStore({ kind: 'redis', url: 'redis://127.0.0.1:1' }, { schema: 'app' })).rejects.toThrow(
      '--schema applies to postgres://',
    )
    const bad = openStore({ kind: 'redis', url: 'redis://127.0.0.1:1' }, { namespace: 'no spaces allowed' })
    await expect(bad).rejects.toBeInstanceOf(UsageError)
    await expect(bad).rejects.toThrow(/namespace/)
  })
})
