import {
  type AddressClass,
  type Cidr,
  classifyAddress,
  embeddedIPv4,
  inCidr,
  type ParsedAddress,
  parseAddress,
  parseCidr,
} from './address.js'

/** One parsed entry of the `allow` option. */
type AllowEntry =
  | { kind: 'network'; cidr: Cidr; port?: number; text: string }
  | { kind: 'host'; host: string; subdomains: boolean; port?: number; text: string }

/** Why a connection was refused: the host as requested, the address it reached, and that address's class. */
export interface Refusal {
  host: string
  address: string
  addressClass: AddressClass
}

/**
 * The SSRF policy: public addresses pass; a non-public address passes only when an `allow` entry
 * names it (by address or network) or names the host it was reached through.
 */
export interface AddressPolicy {
  /**
   * Judges one address reached through `host`. `port` undefined means "not known yet" (a DNS answer,
   * before connecting): entries with a port then match too, and the connected socket is checked again.
   */
  check(host: string, address: string, port?: number): Refusal | null
}

const HOST_LABELS = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

const parsePort = (text: string): number | undefined => {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const port = Number(text)
  return port >= 1 && port <= 65_535 ? port : undefined
}

/**
 * Parses one `allow` entry, or returns an error message. Forms:
 * - an address or a network: `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`;
 * - an address with a port: `127.0.0.1:8080`, `[::1]:8080`;
 * - a host name, optionally with a port: `localhost`, `localhost:8080`, `*.svc.cluster.local` (subdomains only).
 */
export const parseAllowEntry = (raw: string): AllowEntry | string => {
  const text = raw.trim().toLowerCase()
  if (!text) return 'is empty'
  if (text.includes('/')) {
    const cidr = parseCidr(text)
    return cidr ? { kind: 'network', cidr, text } : 'is not a valid network (expected e.g. 10.0.0.0/8 or fd00::/8)'
  }
  let hostPart = text
  let port: number | undefined
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text)
  if (bracketed) {
    hostPart = bracketed[1] as string
    if (bracketed[2] !== undefined) {
      port = parsePort(bracketed[2])
      if (port === undefined) return 'has an invalid port'
    }
  } else if (text.split(':').length === 2) {
    const [h, p] = text.split(':') as [string, string]
    hostPart = h
    port = parsePort(p)
    if (port === undefined) return 'has an invalid port'
  }
  const cidr = parseCidr(hostPart)
  if (cidr) return { kind: 'network', cidr, port, text }
  if (bracketed || hostPart.includes(':')) return 'is not a valid address'
  const subdomains = hostPart.startsWith('*.')
  // Read the name the way a URL host is read, so an entry means what the same text means in a URL:
  // `0x7f.1` and `2130706433` are 127.0.0.1, `bücher.example` is its punycode form.
  let host: string
  try {
    host = new URL(`http://${subdomains ? hostPart.slice(2) : hostPart}`).hostname.replace(/\.$/, '')
  } catch {
    return 'is not a valid host name, address or network'
  }
  const literal = parseCidr(host)
  if (literal && !subdomains) return { kind: 'network', cidr: literal, port, text }
  if (literal || !HOST_LABELS.test(host)) return 'is not a valid host name, address or network'
  return { kind: 'host', host, subdomains, port, text }
}

const normalizeHost = (host: string) => {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return h.toLowerCase().replace(/\.$/, '')
}

const matches = (entry: AllowEntry, host: string, addr: ParsedAddress, port: number | undefined): boolean => {
  if (port !== undefined && entry.port !== undefined && entry.port !== port) return false
  if (entry.kind === 'network') {
    // An IPv4 entry also covers the IPv6 spellings of that address (::ffff:127.0.0.1 is 127.0.0.1).
    const v4 = entry.cidr.family === 4 && addr.family === 6 ? embeddedIPv4(addr) : undefined
    return inCidr(addr, entry.cidr) || (v4 !== undefined && inCidr(v4, entry.cidr))
  }
  return entry.subdomains ? host.endsWith(`.${entry.host}`) : host === entry.host
}

/** Builds the policy from parsed `allow` entries (see {@link parseAllowEntry}). */
export const createAddressPolicy = (allow: readonly string[] = []): AddressPolicy => {
  const entries = allow.map((raw) => {
    const entry = parseAllowEntry(raw)
    if (typeof entry === 'string') throw new TypeError(`allow entry "${raw}" ${entry}`)
    return entry
  })
  return {
    check(host, address, port) {
      const addr = parseAddress(address)
      // Fail closed: a socket without a readable address (already closed, a unix socket) is refused.
      if (!addr) return { host, address: address || 'unknown', addressClass: 'reserved' }
      const addressClass = classifyAddress(addr)
      if (addressClass === null) return null
      const name = normalizeHost(host)
      return entries.some((e) => matches(e, name, addr, port)) ? null : { host, address, addressClass }
    },
  }
}

const CLASS_TEXT: Record<AddressClass, string> = {
  unspecified: 'an unspecified address',
  'this-network': 'a "this network" address',
  private: 'a private address',
  loopback: 'a loopback address',
  'link-local': 'a link-local address',
  metadata: 'the cloud metadata endpoint (link-local)',
  cgnat: 'a carrier-grade NAT (shared) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation address',
  benchmarking: 'a benchmarking address',
  reserved: 'a reserved address',
}

/** Human text for a refusal, e.g. `"localhost" resolved to 127.0.0.1, a loopback address`. */
export const describeRefusal = ({ host, address, addressClass }: Refusal): string => {
  const what = CLASS_TEXT[addressClass]
  const name = normalizeHost(host)
  if (!parseAddress(name)) return `"${name}" resolved to ${address}, ${what}`
  return name === normalizeHost(address) ? `${name} is ${what}` : `${name} (${address}) is ${what}`
}
