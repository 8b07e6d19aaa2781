import { randomUUID } from 'node:crypto'
import { InvalidArgumentError } from './errors.js'

// Ids end up inside store keys, log lines and URLs: keep them printable and unambiguous.
const ID = /^[A-Za-z0-9][A-Za-z0-9._\-:@/#+=]{0,254}$/

/** Validates an action, workflow, run or step id; throws an error naming the bad id and what it was for. */
export const assertId = (value: unknown, what: string): string => {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new InvalidArgumentError(
      `Invalid ${what} ${JSON.stringify(value)}: use 1-255 characters of letters, digits and . _ - : @ / # + =, starting with a letter or digit`,
    )
  }
  return value
}

/**
 * A random UUID whose first 48 bits are the current Unix time in ms (the layout of UUID version 7),
 * so ids made one after the other sort together: run records and journals of new runs land next
 * to each other in a B-tree store (SQLite pages, fewer of them written per commit) instead of at
 * random places.
 */
export const timeOrderedUuid = (now: number = Date.now()): string => {
  const t = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12)
  return `${t.slice(0, 8)}-${t.slice(8)}-7${randomUUID().slice(15)}`
}
