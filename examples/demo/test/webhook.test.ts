// The demo's click webhook answers from engine.signal's result, never "accepted" blindly.
import { afterEach, describe, expect, it } from 'vitest'
import { startWebhook } from '../src/webhook.js'

const servers: { close(): void }[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

const post = async (url: string) => {
  const res = await fetch(url, { method: 'POST' })
  return { status: res.status, body: await res.json() }
}

describe('the click webhook', () => {
  it('answers 202 delivered, 200 delivered:false for a finished run, 404 for an unknown run, 400 for a bad id', async () => {
    const answers: Record<string, () => Promise<boolean>> = {
      live: async () => true,
      done: async () => false,
      gone: async () => {
        throw Object.assign(new Error('No run "gone"'), { code: 'ERR_RUN_NOT_FOUND' })
      },
      'bad id': async () => {
        throw Object.assign(new Error('Invalid run id'), { code: 'ERR_INVALID_ARGUMENT' })
      },
    }
    const { server, url } = await startWebhook((id) => (answers[id] as () => Promise<boolean>)(), 0)
    servers.push(server)
    expect(await post(`${url}?run=live`)).toEqual({ status: 202, body: { delivered: true } })
    expect(await post(`${url}?run=done`)).toEqual({ status: 200, body: { delivered: false, reason: 'the run has already finished' } })
    expect(await post(`${url}?run=gone`)).toMatchObject({ status: 404, body: { error: 'No run "gone"' } })
    expect(await post(`${url}?run=bad%20id`)).toMatchObject({ status: 400 })
  })
})
