import { readFileSync } from 'node:fs'
import { hookNames } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'

const doc = readFileSync(new URL('../../../docs/hooks.md', import.meta.url), 'utf8')
const eventsSection = doc.slice(doc.indexOf('### Events'), doc.indexOf('\n## ', doc.indexOf('### Events')))

describe('docs/hooks.md', () => {
  it('has a row in the event table for every hook the engine knows, and no other', () => {
    const rows = [...eventsSection.matchAll(/^\| `([a-z:]+)` *\|/gm)].map((m) => m[1])
    expect(rows).toEqual([...hookNames])
  })
})
