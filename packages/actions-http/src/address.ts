import { isIPv4, isIPv6 } from 'node:net'

/**
 * Why an address is not public. `null` from {@link classifyAddress} means public (globally routable).
 * `metadata` is the link-local cloud metadata endpoint (169.254.169.254, fd00:ec2::254), named apart
 * because it is the classic SSRF target.
 */
export type AddressClass =
  | 'unspecified'
  | 'this-network'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'metadata'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'

/** An IP address as a number: 32 bits for IPv4, 128 bits for IPv6. */
export interface ParsedAddress {
  family: 4 | 6
  value: bigint
}

/** Parses a dotted-quad IPv4 or any IPv6 text form (zone id dropped, brackets allowed); `undefined` if neither. */
export const parseAddress = (text: string): ParsedAddress | undefined => {
  let ip = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  const zone = ip.indexOf('%')
  if (zone >= 0) ip = ip.slice(0, zone)
  if (isIPv4(ip)) return { family: 4, value: ipv4Value(ip) }
  if (isIPv6(ip)) return { family: 6, value: ipv6Value(ip) }
  return undefined
}

const ipv4Value = (ip: string): bigint => ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n)

const ipv6Value = (ip: string): bigint => {
  let text = ip
  // An embedded IPv4 tail (`::ffff:127.0.0.1`) becomes two hex groups.
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const v4 = ipv4Value(tail)
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head, rest] = text.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = rest === undefined ? [] : rest ? rest.split(':') : []
  const groups = rest === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n)
}

/** A network: base address and prefix length. */
export interface Cidr {
  family: 4 | 6
  base: bigint
  bits: number
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a single address (a /32 or /128); `undefined` when malformed. */
export const parseCidr = (text: string): Cidr | undefined => {
  const slash = text.indexOf('/')
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash))
  if (!addr) return undefined
  const max = addr.family === 4 ? 32 : 128
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return undefined
  const bits = Number(bitsText)
  return { family: addr.family, base: addr.value & mask(addr.family, bits), bits }
}

const mask = (family: 4 | 6, bits: number): bigint => {
  const width = family === 4 ? 32n : 128n
  return bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits))
}

/** True when `addr` lies inside `cidr` (families must match; unmap IPv4-mapped addresses first). */
export const inCidr = (addr: ParsedAddress, cidr: Cidr): boolean =>
  addr.family === cidr.family && (addr.value & mask(cidr.family, cidr.bits)) === cidr.base

const rules = (list: [string, AddressClass][]) => list.map(([cidr, cls]) => ({ cidr: parseCidr(cidr) as Cidr, cls }))

// First match wins, so exact addresses come before the ranges that hold them.
const V4_RULES = rules([
  ['0.0.0.0/32', 'unspecified'],
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.169.254/32', 'metadata'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
])

const V6_RULES = rules([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'metadata'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'],
  ['ff00::/8', 'multicast'],
  ['100::/64', 'reserved'],
  ['2001::/32', 'reserved'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'reserved'],
  ['2001:20::/28', 'reserved'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['64:ff9b:1::/48', 'reserved'],
])

const GLOBAL_UNICAST_V6 = parseCidr('2000::/3') as Cidr
// IPv6 forms that carry an IPv4 address a gateway (or the kernel) will actually talk to:
// IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, and 6to4 2002:AABB:CCDD::.
const MAPPED = parseCidr('::ffff:0:0/96') as Cidr
const NAT64 = parseCidr('64:ff9b::/96') as Cidr
const SIX_TO_FOUR = parseCidr('2002::/16') as Cidr

/** The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address, if it is one. */
export const embeddedIPv4 = (addr: ParsedAddress): ParsedAddress | undefined => {
  if (addr.family !== 6) return undefined
  if (inCidr(addr, MAPPED) || inCidr(addr, NAT64)) return { family: 4, value: addr.value & 0xffffffffn }
  if (inCidr(addr, SIX_TO_FOUR)) return { family: 4, value: (addr.value >> 80n) & 0xffffffffn }
  return undefined
}

/**
 * Classifies an address: `null` when it is public, else why it is not. IPv6 forms that embed an
 * IPv4 address are judged by that address; any IPv6 address outside global unicast (2000::/3) is
 * `reserved`.
 */
export const classifyAddress = (addr: ParsedAddress): AddressClass | null => {
  const inner = embeddedIPv4(addr)
  if (inner) return classifyAddress(inner)
  const table = addr.family === 4 ? V4_RULES : V6_RULES
  for (const rule of table) if (inCidr(addr, rule.cidr)) return rule.cls
  if (addr.family === 6 && !inCidr(addr, GLOBAL_UNICAST_V6)) return 'reserved'
  return null
}
