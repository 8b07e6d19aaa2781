// `pnpm start`: the app on a SQLite file, for a few seconds of real time. It registers the daily
// digest (declarative) and two tenants' nightly syncs (dynamic), lists them, runs three exports
// (two of one user: one at a time) and debounces three profile edits into one reindex.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from './app.js'
import { scheduleTenant } from './tenants.js'
import { exportReport, reindexProfile } from './workflows.js'

const dir = mkdtempSync(join(tmpdir(), 'do-sdk-schedules-'))
const engine = createApp(join(dir, 'app.db'))
const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString())

try {
  await engine.start()
  await scheduleTenant(engine, { id: 'acme', timezone: 'Europe/Berlin' })
  await scheduleTenant(engine, { id: 'globex', timezone: 'America/New_York' })
  console.log('Schedules:')
  for (const s of (await engine.schedules.list()).schedules) {
    console.log(`  ${s.id.padEnd(24)} ${s.cron} ${(s.timezone ?? 'UTC').padEnd(16)} next run ${iso(s.nextRunAt)}`)
  }

  const exports = [
    await engine.trigger(exportReport, { userId: 'ada', report: 'q1' }),
    await engine.trigger(exportReport, { userId: 'ada', report: 'q2' }),
    await engine.trigger(exportReport, { userId: 'bob', report: 'q1' }),
  ]
  const started = Date.now()
  await Promise.all(
    exports.map(async (run) => {
      const file = await run.result()
      console.log(`Export done after ${String(Date.now() - started).padStart(4)} ms: ${file.url}`)
    }),
  )
  console.log("  (Ada's second export waited for her first: one at a time per user, started as her first let its slot go)")

  let reindex = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'Ada' })
  reindex = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'Ada L.' })
  reindex = await engine.trigger(reindexProfile, { userId: 'ada', displayName: 'Ada Lovelace' })
  const held = await engine.getRun(reindex.id)
  console.log(
    `Three edits, one reindex (${reindex.id}): ${held.status} until ${iso(held.pendingReason?.until)}, input ${JSON.stringify(held.input)}`,
  )
} finally {
  await engine.stop()
  rmSync(dir, { recursive: true, force: true })
}
