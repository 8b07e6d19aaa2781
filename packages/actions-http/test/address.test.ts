import { describe, expect, it } from 'vitest'
import { classifyAddress, parseAddress, parseCidr } from '../src/address.js'
import { createAddressPolicy, parseAllowEntry } from '../src/ssrf.js'

const classOf = (ip: string) => classifyAddress(parseAddress(ip) ?? { family: 4, value: -1n })

describe('classifyAddress', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['2001::1', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['100::1', 'reserved'],
    // docs/packs/http.md: "By default the actions refuse to connect to any address that is not public"
  ])('%s is %s', (ip, cls) => {
    expect(classOf(ip)).toBe(cls)
  })

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    // docs/packs/http.md: "IPv6 addresses that carry an IPv4 address are judged by it"
  ])('judges %s by the IPv4 address it embeds (%s)', (ip, cls) => {
    expect(classOf(ip)).toBe(cls)
  })

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.32.0.1',
    '192.169.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '2002:808:808::1',
  ])('%s is public', (ip) => {
    expect(classOf(ip)).toBeNull()
  })

  it('parses only real addresses and networks', () => {
    expect(parseAddress('0x7f.1')).toBeUndefined()
    expect(parseAddress('2130706433')).toBeUndefined()
    expect(parseAddress('localhost')).toBeUndefined()
    expect(parseCidr('10.0.0.0/33')).toBeUndefined()
    expect(parseCidr('10.9.9.9/8')).toEqual({ family: 4, base: 10n << 24n, bits: 8 })
    expect(parseCidr('::/0')).toEqual({ family: 6, base: 0n, bits: 0 })
  })
})

describe('allow entries', () => {
  // docs/packs/http.md: "Entries are read like URL hosts, so `'0x7f.1'` means `127.0.0.1`"
  it('parses addresses, networks, ports and host names, and explains bad ones', () => {
    expect(parseAllowEntry('127.0.0.1')).toMatchObject({ kind: 'network', port: undefined })
    expect(parseAllowEntry('127.0.0.1:8080')).toMatchObject({ kind: 'network', port: 8080 })
    expect(parseAllowEntry('[::1]:8080')).toMatchObject({ kind: 'network', port: 8080 })
    expect(parseAllowEntry('fd00::/8')).toMatchObject({ kind: 'network', cidr: { bits: 8 } })
    expect(parseAllowEntry('LocalHost:3000')).toMatchObject({ kind: 'host', host: 'localhost', port: 3000 })
    expect(parseAllowEntry('*.svc.cluster.local')).toMatchObject({ kind: 'host', host: 'svc.cluster.local', subdomains: true })
    expect(parseAllowEntry('10.0.0.0/40')).toMatch(/not a valid network/)
    expect(parseAllowEntry('localhost:99999')).toMatch(/invalid port/)
    expect(parseAllowEntry('bad host!')).toMatch(/not a valid host name/)
    // Read like a URL host: these spell 127.0.0.1.
    expect(parseAllowEntry('0x7f.1')).toMatchObject({ kind: 'network', cidr: { family: 4, base: 0x7f000001n, bits: 32 } })
    expect(parseAllowEntry('2130706433:80')).toMatchObject({ kind: 'network', cidr: { base: 0x7f000001n }, port: 80 })
    expect(parseAllowEntry('*.127.0.0.1')).toMatch(/not a valid host name/)
    expect(parseAllowEntry('')).toMatch(/empty/)
  })

  // docs/packs/http.md: "`'*.svc.cluster.local'` | its subdomains (not the name itself)"
  it('opens exactly what it names', () => {
    const policy = createAddressPolicy(['127.0.0.1', '10.0.0.0/8', 'localhost:8080', '*.internal', '[::1]:9000'])
    expect(policy.check('127.0.0.1', '127.0.0.1', 1)).toBeNull()
    expect(policy.check('::ffff:7f00:1', '::ffff:127.0.0.1', 1)).toBeNull()
    expect(policy.check('x', '10.200.0.1', 443)).toBeNull()
    expect(policy.check('localhost', '127.0.0.2', 8080)).toBeNull()
    expect(policy.check('localhost', '127.0.0.2', 8081)).toMatchObject({ addressClass: 'loopback' })
    expect(policy.check('api.internal', '192.168.0.9', 80)).toBeNull()
    expect(policy.check('internal', '192.168.0.9', 80)).toMatchObject({ addressClass: 'private' })
    expect(policy.check('::1', '::1', 9000)).toBeNull()
    expect(policy.check('::1', '::1', 9001)).toMatchObject({ addressClass: 'loopback' })
    expect(policy.check('meta', '169.254.169.254', 80)).toMatchObject({ addressClass: 'metadata', host: 'meta' })
    expect(policy.check('gone', '', 80)).toMatchObject({ addressClass: 'reserved' })
    expect(policy.check('example.com', '93.184.216.34', 443)).toBeNull()
    // Before connecting the port is unknown: an entry with a port lets the DNS answer through.
    expect(policy.check('localhost', '127.0.0.2')).toBeNull()
  })

  // docs/packs/http.md: "`['0.0.0.0/0', '::/0']` | everything (the policy off)"
  it('everything can be opened with the two zero networks', () => {
    const policy = createAddressPolicy(['0.0.0.0/0', '::/0'])
    for (const ip of ['127.0.0.1', '::1', '169.254.169.254', 'fe80::1']) expect(policy.check(ip, ip, 80)).toBeNull()
  })
})
