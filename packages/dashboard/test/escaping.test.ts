import type { Engine } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientAssets } from '../src/client-bundle.js'
import { toDisplay } from '../src/json.js'
import { echo, startEngine, waitForStatus } from './helpers.js'

let engine: Engine
beforeAll(async () => {
  engine = await startEngine()
})
afterAll(() => engine.stop())

const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`

describe('escaping', () => {
  it('reflects nothing of a hostile path', async () => {
    const handler = dashboard({ engine, basePath: '/admin/runs', auth: () => ({ read: true, write: true }) })
    const res = await handler(new Request(`http://h/admin/runs/${encodeURIComponent('"><script>alert(1)</script>')}`))
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await res.text()).not.toMatch(/script/)
  })

  it('sends hostile stored values as JSON with no markup in it, the same value once parsed', async () => {
    const handler = dashboard({ engine, basePath: '/d', auth: () => ({ read: true, write: true }) })
    const run = await engine.trigger(echo, { note: HOSTILE })
    await waitForStatus(engine, run.id, 'waiting')
    await engine.signal(run.id, 'message', { html: HOSTILE })
    await run.result()
    const res = await handler(new Request(`http://h/d/api/runs/${encodeURIComponent(run.id)}`))
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const text = await res.text()
    expect(text).not.toMatch(/[<>]/)
    const body = JSON.parse(text)
    expect(body.run.input).toEqual({ note: HOSTILE })
    expect(body.run.output).toEqual({ got: { html: HOSTILE } })
  })

  it('escapes the page settings and loads no inline script', async () => {
    const handler = dashboard({ engine, basePath: "/a&b'c", auth: () => ({ read: true, write: false }) })
    const page = await (await handler(new Request("http://h/a&b'c/"))).text()
    expect(page).toContain('data-base="/a&amp;b&#39;c"')
    for (const tag of page.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/ src="/)
    expect(page).not.toMatch(/ style=| on[a-z]+=/i)
  })

  it('the browser script writes no markup: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval', async () => {
    const { js, css } = await clientAssets()
    expect(js.length).toBeGreaterThan(1000)
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/)
    // Small and fast: one script and one style sheet, no dependency.
    expect(js.length + css.length).toBeLessThan(60_000)
  })
})

describe('toDisplay', () => {
  it('spells out what JSON cannot hold, and keeps a stored __proto__ key a plain key', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const shown = toDisplay({
      big: 10n,
      map: new Map([['k', 1]]),
      set: new Set([1]),
      at: new Date(0),
      nan: Number.NaN,
      none: undefined,
      bytes: new Uint8Array([1, 2]),
      err: new TypeError('x'),
      cyclic,
      ...JSON.parse('{"__proto__": {"polluted": true}}'),
    }) as Record<string, unknown>
    expect(JSON.parse(JSON.stringify(shown))).toEqual({
      big: { $bigint: '10' },
      map: { $map: [['k', 1]] },
      set: { $set: [1] },
      at: { $date: '1970-01-01T00:00:00.000Z' },
      nan: { $number: 'NaN' },
      none: { $undefined: true },
      bytes: { $bytes: 'AQI=' },
      err: { $error: { name: 'TypeError', message: 'x' } },
      cyclic: { a: 1, self: { $cycle: true } },
      ['__proto__']: { polluted: true },
    })
    expect(Object.getPrototypeOf(shown)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
