// Dynamic schedules: one per tenant, made when the tenant signs up, removed when it leaves.
import { type Engine, type ScheduleInfo, ScheduleNotFoundError } from '@do-sdk/core'
import { tenantSync } from './workflows.js'

export interface Tenant {
  id: string
  /** IANA time zone the tenant works in. */
  timezone: string
}

export const syncScheduleId = (tenantId: string) => `tenant-sync:${tenantId}`

/**
 * The tenant's nightly sync at 02:00 in its own time zone. Idempotent: calling it again with the
 * same tenant returns the schedule as it is (safe at every boot); a tenant that moved to another
 * time zone gets its schedule updated.
 */
export const scheduleTenant = async (engine: Engine, tenant: Tenant): Promise<ScheduleInfo> => {
  const id = syncScheduleId(tenant.id)
  const existing = await engine.schedules.get(id).catch((error: unknown) => {
    if (error instanceof ScheduleNotFoundError) return undefined
    throw error
  })
  if (existing && existing.timezone !== tenant.timezone) return engine.schedules.update(id, { timezone: tenant.timezone })
  return engine.schedules.create({
    id,
    workflow: tenantSync,
    cron: '0 2 * * *',
    timezone: tenant.timezone,
    input: { tenantId: tenant.id },
    // A sync still running at the next tick: skip that tick (the default), never two at once.
    overlap: 'skip',
  })
}

/** The tenant left: no more syncs (its past runs stay until retention removes them). */
export const unscheduleTenant = (engine: Engine, tenantId: string): Promise<boolean> => engine.schedules.delete(syncScheduleId(tenantId))
