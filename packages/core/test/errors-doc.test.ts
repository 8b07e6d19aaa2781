import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import * as core from '../src/index.js'

it('docs/errors.md lists every error code and its class', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const rows = new Map([...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => [m[1], m[2]]))
  for (const code of Object.values(core.ErrorCodes)) {
    expect(rows.has(code), `${code} missing from docs/errors.md`).toBe(true)
    const cls = (core as Record<string, unknown>)[rows.get(code)!]
    expect(typeof cls, `${rows.get(code)} is not exported`).toBe('function')
  }
  expect(rows.size).toBe(Object.values(core.ErrorCodes).length)
})
