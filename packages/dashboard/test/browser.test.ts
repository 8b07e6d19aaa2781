/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium, installed by
 * scripts/system-deps.mjs) driven by playwright-core. No browser is downloaded. With CI=true a
 * missing Chromium fails this file; elsewhere it is skipped. Every wait is on a selector, a page
 * condition or the engine, never a sleep.
 */
import { existsSync } from 'node:fs'
import type { Engine } from '@do-sdk/core'
import { dashboard } from '@do-sdk/dashboard'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allWorkflows, echo, flakiness, flaky, listen, startEngine, waitForStatus } from './helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const present = existsSync(CHROMIUM)
const inCi = process.env.CI === 'true'

it.runIf(inCi && !present)('Chromium is installed (CI never skips the browser test)', () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/system-deps.mjs installs the Debian package "chromium"`).toBe(true)
})

describe.runIf(present)('the dashboard in Chromium', { timeout: 120_000 }, () => {
  let engine: Engine
  let browser: Browser
  let base: string
  let evilOrigin: string
  /** Where the other origin's page posts its form. */
  let evilTarget = ''
  const closers: (() => Promise<void>)[] = []
  /** Script errors and CSP violations of the current test's page. */
  let problems: string[] = []

  beforeAll(async () => {
    engine = await startEngine()
    const runs = dashboard({
      engine,
      basePath: '/admin/runs',
      workflows: allWorkflows,
      refreshInterval: 250,
      auth: (request) => {
        const signedIn = /(?:^|;\s*)sid=admin-session(?:;|$)/.test(request.headers.get('cookie') ?? '')
        return { read: signedIn, write: signedIn }
      },
    })
    const app = await listen((req, res) => runs.node(req, res))
    base = `${app.url}/admin/runs`
    // Another origin on the same site (another port): its page tries a cross-origin form post.
    const evil = await listen((_req, res) => {
      res.setHeader('content-type', 'text/html')
      res.end(
        `<form method="post" enctype="text/plain" action="${evilTarget}"><input name='{"reason":"evil","x":"' value='"}'></form>` +
          '<script>document.forms[0].submit()</script>',
      )
    })
    evilOrigin = evil.url
    closers.push(app.close, evil.close)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    for (const close of closers) await close()
    await engine?.stop()
  })

  /** A signed-in page that records script errors and CSP violations. */
  const signedInPage = async (): Promise<Page> => {
    problems = []
    const context = await browser.newContext()
    await context.addCookies([{ name: 'sid', value: 'admin-session', url: base }])
    const page = await context.newPage()
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`)
    })
    return page
  }

  /** Waits until the notice line says `text`. */
  const noticeSays = (page: Page, text: string) =>
    page.waitForFunction((t) => (globalThis as any).document.getElementById('notice')?.textContent === t, text)

  it('lists runs, filters the failed ones, opens one, retries it after the fix, and sees it complete', async () => {
    flakiness.broken = false
    await (await engine.trigger(flaky, { amount: 1 }, { id: 'order-41' })).result()
    flakiness.broken = true
    // An id with the characters a run id may hold that mean something in URLs: / # + = : @
    const failing = await engine.trigger(flaky, { amount: 42 }, { id: 'shop/order-42#a+b=c:d@e' })
    await waitForStatus(engine, failing.id, 'failed')

    const page = await signedInPage()
    await page.goto(`${base}/`)
    await page.waitForSelector('#runs tr[data-run-id="order-41"]')
    await page.waitForSelector(`#runs tr[data-run-id="${failing.id}"]`)
    await page.waitForSelector('#counts [data-count="failed"]')

    await page.selectOption('#filter-status', 'failed')
    // A function, not a string: a string would be eval'd in the page, which its CSP forbids.
    await page.waitForFunction(() => {
      const doc = (globalThis as any).document
      const rows: any[] = [...doc.querySelectorAll('#runs tr[data-run-id]')]
      return doc.location.hash.includes('status=failed') && rows.length > 0 && rows.every((r) => r.dataset.runStatus === 'failed')
    })
    expect(await page.$('#runs tr[data-run-id="order-41"]')).toBeNull()

    await page.click(`#runs tr[data-run-id="${failing.id}"] a.run-link`)
    await page.waitForSelector('.view-run[data-run-status="failed"]')
    expect(await page.textContent('#run-id')).toBe(failing.id)
    expect(await page.textContent('#run-error')).toContain('card declined for 42')
    const failedStep = await page.waitForSelector('#timeline tr[data-step-status="failed"]')
    expect(await failedStep.textContent()).toContain(`${failing.id}:charge-card`)

    // The card works again: retry from the failed step, in the page.
    flakiness.broken = false
    await page.click('#retry')
    await page.waitForSelector('.view-run[data-run-status="completed"]')
    expect((await waitForStatus(engine, failing.id, 'completed')).output).toEqual({ prepared: true, chargeId: 'ch_42' })
    await page.waitForSelector('#timeline tr[data-step-status="completed"] >> text=charge-card')
    expect(await page.$('#retry-box:not([hidden])')).toBeNull()
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('shows a hostile signal payload as text: no script runs, no element is made from it', async () => {
    const run = await engine.trigger(echo, {}, { id: 'echo-hostile' })
    await waitForStatus(engine, run.id, 'waiting')
    const hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    const page = await signedInPage()
    await page.goto(`${base}/#/run/${encodeURIComponent(run.id)}`)
    await page.waitForSelector('.view-run[data-run-status="waiting"]')
    await page.fill('#signal-name', 'message')
    await page.fill('#signal-payload', JSON.stringify({ html: hostile }))
    await page.click('#signal-send')
    await page.waitForSelector('.view-run[data-run-status="completed"]')
    const body = await page.textContent('#run-body')
    expect(body).toContain(JSON.stringify(hostile))
    expect(await page.$$('#run-body script, #run-body img, #app img')).toHaveLength(0)
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('pauses a schedule and shows it paused, resumes it, and runs it now, from the schedules view', async () => {
    await engine.schedules.create({ id: 'nightly/echo', workflow: echo, cron: '30 2 * * *', timezone: 'Europe/Berlin' })
    const page = await signedInPage()
    await page.goto(`${base}/`)
    await page.click('#nav a[href="#/schedules"]')
    const row = 'tr[data-schedule-id="nightly/echo"]'
    await page.waitForSelector(`${row}[data-schedule-paused="false"]`)
    expect(await page.textContent(`${row} .schedule-state`)).toBe('active')
    expect(await page.textContent(`${row} .schedule-next`)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)

    await page.click(`${row} button[data-schedule-action="pause"]`)
    await page.waitForSelector(`${row}[data-schedule-paused="true"]`)
    expect(await page.textContent(`${row} .schedule-state`)).toBe('paused')
    expect(await page.textContent(`${row} .schedule-next`)).toBe('—')
    // The notice is set when the POST answers; a timed refresh may show the row paused before that.
    await noticeSays(page, 'Schedule "nightly/echo" paused.')
    expect((await engine.schedules.get('nightly/echo')).paused).toBe(true)

    await page.click(`${row} button[data-schedule-action="resume"]`)
    await page.waitForSelector(`${row}[data-schedule-paused="false"]`)
    expect(await page.textContent(`${row} .schedule-state`)).toBe('active')
    const next = (await engine.schedules.get('nightly/echo')).nextRunAt
    expect(next).toEqual(expect.any(Number))

    await page.click(`${row} button[data-schedule-action="trigger"]`)
    const started = await page.waitForSelector(`${row} a.run-link`)
    const runId = (await started.textContent()) as string
    expect(runId).toMatch(/^nightly\/echo@manual-/)
    await noticeSays(page, `Schedule "nightly/echo" started run ${runId}.`)
    expect((await waitForStatus(engine, runId, 'waiting')).workflowId).toBe('echo')
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('refuses a browser without a session, and a form posted from another origin', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const refused = await page.goto(`${base}/`)
    expect(refused?.status()).toBe(401)
    expect(await page.textContent('body')).toContain('sign in')

    const waiting = await engine.trigger(echo, {}, { id: 'echo-csrf' })
    await waitForStatus(engine, waiting.id, 'waiting')
    evilTarget = `${base}/api/runs/${encodeURIComponent(waiting.id)}/cancel`
    // Signed in (the cookie is sent: same site), but the post comes from another origin.
    await context.addCookies([{ name: 'sid', value: 'admin-session', url: base }])
    const posted = page.waitForResponse((r) => r.url().endsWith('/cancel'))
    await page.goto(`${evilOrigin}/`)
    const response = await posted
    expect(response.status()).toBe(403)
    expect(await response.text()).toContain('CROSS_ORIGIN')
    expect((await engine.getRun(waiting.id)).status).toBe('waiting')
    await context.close()
  })
})
