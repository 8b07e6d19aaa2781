/**
 * The do-sdk demo: the seed's onboarding story on a SQLite file.
 *
 *   pnpm demo                 run it (kill it with Ctrl-C or kill -9 while it waits or sleeps, run it again: it resumes)
 *   pnpm demo --fresh         forget the previous run and start afresh
 *   pnpm demo --manual        do not click the email link for you: use the printed curl line
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { databaseActions } from '@do-sdk/actions-database'
import { emailActions } from '@do-sdk/actions-email'
import { httpActions } from '@do-sdk/actions-http'
import { createEngine, parseDuration, silentLogger } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { makeOnboarding } from './onboarding.js'
import { bold, cyan, dim, green, json, magenta, progress, say, timeline, yellow } from './print.js'
import { startWebhook } from './webhook.js'

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    fresh: { type: 'boolean', default: false },
    manual: { type: 'boolean', default: false },
    'click-after': { type: 'string', default: '1500' },
    sleep: { type: 'string', default: '3s' },
    dir: { type: 'string', default: process.env.DO_SDK_DEMO_DIR ?? '.demo' },
    port: { type: 'string', default: '4477' },
  },
})

const dir = resolve(args.dir)
if (args.fresh) rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
const outbox = resolve(dir, 'outbox')

const email = emailActions({ transport: { type: 'dev', dir: outbox }, from: 'Acme <hello@acme.test>' })
const db = databaseActions({ dialect: 'sqlite', path: resolve(dir, 'app.db'), tables: ['profiles'], allowRawQuery: true })
const store = sqliteStore({ path: resolve(dir, 'do.db') })

const runId = 'onboarding:usr_12345'
const user = { userId: 'usr_12345', email: 'jane.doe@example.com', name: 'Jane Doe' }

say(bold('do-sdk demo: the onboarding workflow'))
say(dim(`  Datastore: ${resolve(dir, 'do.db')} (SQLite)   outbox: ${outbox}   app database: ${resolve(dir, 'app.db')}`))

// The app's own table, created by the database pack's parameterized query action.
await db.query.execute({
  sql: 'CREATE TABLE IF NOT EXISTS profiles (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, plan TEXT, clicked_at INTEGER, request_key TEXT UNIQUE)',
})

// The server turns a click into a signal; the HTTP pack's base URL is the server's port.
const webhook = await startWebhook((id) => engine.signal(id, 'email.clicked', { at: Date.now() }), Number(args.port))
// Loopback is refused by the HTTP pack's SSRF policy unless allowed by name.
const http = httpActions({ baseUrl: webhook.base, allow: ['127.0.0.1'], retry: { retries: 2, minTimeout: 200 } })
const onboarding = makeOnboarding(email, db, http, { sleep: parseDuration(args.sleep, '--sleep') })
// A stable engine id: a restarted demo takes its run back at once instead of waiting for the lease.
const engine = createEngine({
  store,
  workflows: [onboarding],
  plugins: [email.plugin, db.plugin, http.plugin],
  engineId: 'demo',
  logger: silentLogger,
})
const curl = `curl -X POST '${webhook.url}?run=${runId}'`

engine.hooks.on('workflow:start', (e) => say(`${cyan('▶')} run ${bold(e.runId)} started`))
engine.hooks.on('workflow:resume', (e) =>
  say(
    `${cyan('↻')} resuming run ${bold(e.runId)} at step ${bold(e.atStep ?? '(start)')} (${e.steps} steps already committed, not run again)`,
  ),
)
engine.hooks.on('step:complete', (e) => {
  if (e.replayed || e.kind === 'store.set') return
  say(`${green('✓')} ${e.stepId} ${dim(`(${e.kind}, ${e.durationMs} ms)`)}`)
  if (e.kind === 'action' && e.stepId.startsWith('email.send')) {
    const file = (e.output as { file?: string }).file
    if (file) say(`    ${dim('welcome email written to')} ${file}`)
  }
})
engine.hooks.on('state:change', (e) => say(`${magenta('◆')} state record is now\n${json(e.state)}`))
engine.hooks.on('step:retry', (e) =>
  say(`${yellow('↺')} ${e.stepId} attempt ${e.attempt} failed (${e.error.message}); retrying in ${e.delayMs} ms`),
)
engine.hooks.on('signal:receive', (e) => say(`${cyan('✉')} event ${bold(e.name)} received through the webhook`))

let clickTimer: NodeJS.Timeout | undefined
let sleepTicker: NodeJS.Timeout | undefined
const onWaiting = () => {
  say(`${yellow('⏸')} waiting for the ${bold('email.clicked')} event (up to 3 days). Click from another terminal:`)
  say(`    ${curl}`)
  if (!args.manual) {
    say(dim(`    (the demo clicks it for you in ${args['click-after']} ms; --manual to do it yourself)`))
    clickTimer = setTimeout(() => {
      fetch(`${webhook.url}?run=${encodeURIComponent(runId)}`, { method: 'POST' }).catch((err) =>
        say(`webhook call failed: ${err.message}`),
      )
    }, Number(args['click-after']))
  }
}
engine.hooks.on('workflow:suspend', (e) => {
  if (e.waitingFor?.includes('email.clicked')) onWaiting()
  else if (e.wakeAt !== undefined) {
    const wakeAt = e.wakeAt
    say(`${yellow('⏾')} sleeping until ${new Date(wakeAt).toISOString()} (kill me now and run me again: I will resume)`)
    clearInterval(sleepTicker)
    sleepTicker = setInterval(() => {
      const left = Math.max(0, wakeAt - Date.now())
      progress(dim(`    ${(left / 1000).toFixed(1)} s left…`))
      if (left === 0) clearInterval(sleepTicker)
    }, 100)
  }
})

const existing = await engine.getRun(runId).catch(() => undefined)
if (existing?.status === 'completed') {
  say(`${green('✓')} run ${runId} already completed earlier; run ${bold('pnpm demo --fresh')} to start afresh.`)
} else if (existing) {
  say(
    `${cyan('↻')} resuming run ${runId} at step ${bold(existing.currentStep ?? '(start)')} (${existing.status}; committed steps are not run again)`,
  )
}

await engine.start()
const run = await engine.trigger(onboarding, user, { id: runId })
// A run that was already waiting when the demo stopped does not execute until its event arrives.
if (existing?.status === 'waiting' && existing.waitingFor?.includes('email.clicked')) onWaiting()
let output: unknown
try {
  output = await run.result()
} finally {
  clearTimeout(clickTimer)
  clearInterval(sleepTicker)
}

const info = await engine.getRun(run.id)
say()
say(`${green('■')} run ${bold(run.id)} ${green(info.status)}; output:`)
say(json(output))
say(`${magenta('◆')} the record in the Datastore (engine.kv.get('users/usr_12345')):`)
say(json(await engine.kv.get('users/usr_12345')))
const profiles = await db.select.execute({ table: 'profiles', where: { user_id: 'usr_12345' } })
say(`${magenta('◆')} profiles table in ${resolve(dir, 'app.db')}:`)
say(json(profiles.rows))
const emails = existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')) : []
say(`${green('✉')} emails in the outbox: ${emails.length} ${dim('(one welcome email, however often the demo was interrupted)')}`)
say()
say(timeline(info))

await engine.stop()
await new Promise<void>((r) => webhook.server.close(() => r()))
await db.close()
await http.close()
await store.close?.()
