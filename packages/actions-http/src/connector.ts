import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { buildConnector } from 'undici'
import { BlockedAddressError } from './errors.js'
import type { AddressPolicy } from './ssrf.js'

/** Options of {@link createGuardedConnect}. */
export interface GuardedConnectOptions {
  /** Connect timeout, in ms (TCP + TLS handshake). */
  connectTimeoutMs: number
  /**
   * Refuse before connecting when the host is an IP literal or every DNS answer is refused
   * (no packet reaches a refused address, and refused ports cannot be probed). The connected
   * socket is checked either way; tests turn this off to exercise that last check alone.
   * @default true
   */
  preflight?: boolean
}

const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host)

/**
 * A DNS lookup that drops refused answers and fails with a {@link BlockedAddressError} when none is
 * left. The port is not known here, so entries with a port match; the socket check enforces them.
 */
export const guardedLookup =
  (policy: AddressPolicy, resolve: typeof dnsLookup = dnsLookup): LookupFunction =>
  (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, answers: LookupAddress[]) => {
      if (err) return callback(err, '', 0)
      const refusals = answers.map((a) => policy.check(hostname, a.address))
      const allowed = answers.filter((_, i) => refusals[i] === null)
      const first = refusals.find((r) => r !== null)
      if (allowed.length === 0 && first) return callback(new BlockedAddressError(first), '', 0)
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed)
      const [one] = allowed as [LookupAddress]
      callback(null, one.address, one.family)
    })
  }

/**
 * An undici `connect` function that enforces the SSRF policy on the connected socket's
 * `remoteAddress`: whatever notation the URL used (`2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`),
 * whatever DNS answered, whichever hop of a redirect chain, the address actually reached is judged.
 */
export const createGuardedConnect = (policy: AddressPolicy, options: GuardedConnectOptions): buildConnector.connector => {
  const preflight = options.preflight ?? true
  const connect = buildConnector({
    timeout: options.connectTimeoutMs,
    ...(preflight ? { lookup: guardedLookup(policy) } : {}),
  })
  return (opts, callback) => {
    const host = unbracket(opts.hostname)
    if (preflight && isIP(host)) {
      const refusal = policy.check(host, host, opts.port ? Number(opts.port) : undefined)
      if (refusal) return callback(new BlockedAddressError(refusal), null)
    }
    connect(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('connect failed'), null)
      const refusal = policy.check(host, socket.remoteAddress ?? '', socket.remotePort)
      if (refusal) {
        socket.destroy()
        return callback(new BlockedAddressError(refusal), null)
      }
      callback(null, socket)
    })
  }
}
