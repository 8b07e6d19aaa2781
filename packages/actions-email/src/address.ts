import { z } from 'zod'

/** A mailbox: an address and an optional display name. */
export interface EmailAddress {
  /** Display name, e.g. `Jane Doe`. */
  name?: string
  /** The address itself, e.g. `jane@example.com`. */
  address: string
}

/** An address as callers write it: `jane@example.com`, `Jane Doe <jane@example.com>` or `{ name, address }`. */
export type AddressInput = string | { name?: string; address: string }

/** CR, LF and NUL end or split a header line, so they are refused in every string bound for a header. */
export const HEADER_BREAK = /[\r\n\0]/
export const HEADER_BREAK_MESSAGE = 'must not contain CR, LF or NUL (header injection)'

/** Reports one problem at a path relative to the value being checked. */
export type Report = (message: string, path?: (string | number)[]) => void

const MAX_ADDRESS = 254
const MAX_NAME = 256
const NAME_AND_ADDRESS = /^(.*?)\s*<([^<>]*)>$/

/** The zod shape of one address before it is checked (the checks need to report precise paths). */
export const addressInputSchema = z.union([
  z.string(),
  z.object({ name: z.string().optional(), address: z.string() }).describe('A mailbox: { name?, address }'),
])

/** One RFC 5322 quoted string, the whole of it: `"Doe, Jane"`, `"say \"hi\""`. */
const QUOTED_NAME = /^"((?:[^"\\]|\\.)*)"$/
/**
 * What an unquoted display name may not hold: the characters that start or separate another mailbox
 * (`,` `;` `<` `>` `@` `:`) or a quoted part. `a@x.com, Bob <b@y.com>` is two mailboxes, and reading it as
 * one named "a@x.com, Bob" would drop a recipient without a word.
 */
const NAME_SPECIALS = /[,;<>@:"]/

/** The display name of a `name <address>` string, unquoted; `undefined` when it cannot be one mailbox's name. */
const displayName = (raw: string): string | undefined => {
  const quoted = QUOTED_NAME.exec(raw)
  if (quoted) return (quoted[1] as string).replace(/\\(.)/g, '$1')
  return NAME_SPECIALS.test(raw) ? undefined : raw
}

/** The first problem with an address, or `undefined` when it is fine. */
const addressProblem = (address: string): string | undefined => {
  if (HEADER_BREAK.test(address)) return HEADER_BREAK_MESSAGE
  if (address.length > MAX_ADDRESS || !z.regexes.email.test(address)) {
    return 'must be one email address such as jane@example.com (use an array for several)'
  }
  return undefined
}

/** The first problem with a display name, or `undefined` when it is fine. */
const nameProblem = (name: string): string | undefined => {
  if (HEADER_BREAK.test(name)) return HEADER_BREAK_MESSAGE
  if (name.length > MAX_NAME) return `must be at most ${MAX_NAME} characters`
  return undefined
}

/**
 * Checks one address and returns it as `{ name?, address }`, or `undefined` after reporting what is
 * wrong. A string holds exactly one mailbox: handing nodemailer a string it would split on commas
 * could add recipients nobody validated.
 */
export const parseAddress = (value: AddressInput, report: Report): EmailAddress | undefined => {
  if (typeof value !== 'string') {
    const problems: [string | undefined, string][] = [
      [addressProblem(value.address), 'address'],
      [value.name === undefined ? undefined : nameProblem(value.name), 'name'],
    ]
    for (const [problem, key] of problems) if (problem) report(problem, [key])
    if (problems.some(([problem]) => problem)) return undefined
    return value.name ? { name: value.name, address: value.address } : { address: value.address }
  }
  if (HEADER_BREAK.test(value)) {
    report(HEADER_BREAK_MESSAGE)
    return undefined
  }
  const text = value.trim()
  const match = NAME_AND_ADDRESS.exec(text)
  const name = match ? displayName(match[1].trim()) : ''
  if (name === undefined) {
    report('must be one mailbox: quote a display name that holds , ; < > @ : (use an array for several addresses)')
    return undefined
  }
  const address = match ? match[2].trim() : text
  const problem = addressProblem(address) ?? nameProblem(name)
  if (problem) {
    report(problem)
    return undefined
  }
  return name ? { name, address } : { address }
}

/** A display name that needs no quotes: RFC 5322 atext and spaces. */
const PLAIN_NAME = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/

/** `Jane Doe <jane@example.com>`, quoting the name when it holds specials (`"Doe, Jane" <jane@example.com>`). */
export const formatAddress = ({ name, address }: EmailAddress): string => {
  if (!name) return address
  return PLAIN_NAME.test(name) ? `${name} <${address}>` : `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`
}

/** The domain of an address, lower-cased (`Example.COM` → `example.com`). */
export const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase()
