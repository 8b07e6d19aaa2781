import type { LookupAddress } from 'node:dns'
import { describe, expect, it } from 'vitest'
import { guardedLookup } from '../src/connector.js'
import { BlockedAddressError } from '../src/index.js'
import { createAddressPolicy } from '../src/ssrf.js'

/** A fake resolver: a rebinding-style name that answers public and private addresses at once. */
const answering =
  (answers: LookupAddress[]) => (_host: string, _options: unknown, callback: (err: Error | null, answers: LookupAddress[]) => void) =>
    callback(null, answers)

const lookupWith = (answers: LookupAddress[], allow: string[] = []) =>
  guardedLookup(createAddressPolicy(allow), answering(answers) as never)

const call = (lookup: ReturnType<typeof guardedLookup>, all: boolean) =>
  new Promise<{ err: unknown; result: unknown }>((resolve) => {
    lookup('rebind.example', { all }, ((err: unknown, address: unknown, family?: unknown) =>
      resolve({ err, result: all ? address : [address, family] })) as never)
  })

describe('DNS answers before connecting', () => {
  const mixed: LookupAddress[] = [
    { address: '127.0.0.1', family: 4 },
    { address: '93.184.216.34', family: 4 },
    { address: '::ffff:10.0.0.1', family: 6 },
  ]

  // docs/packs/http.md: "refused answers among public ones are dropped"
  it('drops refused answers and keeps the public ones', async () => {
    expect(await call(lookupWith(mixed), true)).toEqual({ err: null, result: [{ address: '93.184.216.34', family: 4 }] })
    expect(await call(lookupWith(mixed), false)).toEqual({ err: null, result: ['93.184.216.34', 4] })
  })

  // docs/packs/http.md: "a name whose every answer is refused fails"
  it('fails with a BlockedAddressError naming the host when every answer is refused', async () => {
    const { err } = await call(lookupWith([{ address: '169.254.169.254', family: 4 }]), true)
    expect(err).toBeInstanceOf(BlockedAddressError)
    expect((err as BlockedAddressError).message).toMatch(/"rebind.example" resolved to 169.254.169.254, the cloud metadata endpoint/)
  })

  // docs/packs/http.md: "`allow` lists what you trust"
  it('keeps answers the allow list opens', async () => {
    expect(await call(lookupWith(mixed, ['10.0.0.0/8']), true)).toEqual({
      err: null,
      result: [
        { address: '93.184.216.34', family: 4 },
        { address: '::ffff:10.0.0.1', family: 6 },
      ],
    })
  })
})
