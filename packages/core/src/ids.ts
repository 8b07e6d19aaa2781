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
