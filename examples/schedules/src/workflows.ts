// Four workflows of a multi-tenant app, each started by time or held back by flow control.
import { workflow } from '@do-sdk/core'
import { z } from 'zod'

/**
 * Declarative: every day at 08:00 in Berlin, whatever the season (07:00 UTC in winter, 06:00 UTC in
 * summer). Registered at `engine.start()` as schedule `workflow:daily-digest`.
 */
export const dailyDigest = workflow.create({
  id: 'daily-digest',
  schedule: { cron: '0 8 * * *', timezone: 'Europe/Berlin' },
  run: async ({ step }) => {
    const day = await step.now()
    const sent = await step.run('send-digest', () => ({ day: new Date(day).toISOString().slice(0, 10), recipients: 3 }))
    return sent
  },
})

/** Started by each tenant's own schedule (see tenants.ts): a nightly sync at 02:00 in the tenant's time zone. */
export const tenantSync = workflow.create({
  id: 'tenant-sync',
  input: z.object({ tenantId: z.string() }),
  run: async ({ input, step }) => {
    const changes = await step.run('fetch-changes', () => ({ tenantId: input.tenantId, changed: 12 }))
    await step.run('apply-changes', () => ({ applied: changes.changed }))
    return { tenantId: input.tenantId, synced: changes.changed }
  },
})

/**
 * One export at a time per user (the reporting API allows one job per account), however many
 * engine processes share the store: a second export of the same user waits `pending` until the
 * first one is done. Exports of different users run side by side.
 */
export const exportReport = workflow.create({
  id: 'export-report',
  input: z.object({ userId: z.string(), report: z.string() }),
  concurrency: { key: (i) => i.userId, limit: 1 },
  run: async ({ input, step }) => {
    const file = await step.run('render', () => ({ url: `https://files.example.com/${input.userId}/${input.report}.pdf` }))
    return file
  },
})

/**
 * A user edits their profile several times in a row: one reindex, 30 s after the last edit, with
 * the last edit's input (and at most 5 minutes after the first, for a user who never stops typing).
 */
export const reindexProfile = workflow.create({
  id: 'reindex-profile',
  input: z.object({ userId: z.string(), displayName: z.string() }),
  debounce: { key: (i) => i.userId, period: '30s', timeout: '5m' },
  run: async ({ input, step }) => {
    await step.run('reindex', () => ({ indexed: input.displayName }))
    return { userId: input.userId, displayName: input.displayName }
  },
})

export const workflows = [dailyDigest, tenantSync, exportReport, reindexProfile]
