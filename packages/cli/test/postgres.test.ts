// The CLI on PostgreSQL: a throwaway cluster on 127.0.0.1, a schema of its own (skipped with a
// warning only outside CI when PostgreSQL is missing; under CI=true that is a failure).
import { postgresStore } from '@do-sdk/store-postgres'
import { describe, expect, it } from 'vitest'
import { havePostgres, startPostgres } from '../../store-postgres/test/postgres-server.js'
import { cli } from './helpers.js'
import { serverScenario } from './server-scenario.js'

const run = havePostgres()
if (!run) console.warn('\n*** PostgreSQL not found: SKIPPING the CLI tests on PostgreSQL (CI=true makes this a failure). ***\n')

describe.runIf(run)('do-sdk on PostgreSQL', () => {
  const server = serverScenario(async () => {
    const pg = await startPostgres()
    const flags = { namespace: 'cli-test', schema: 'do_cli' }
    return {
      url: pg.connectionString,
      flags,
      open: () => postgresStore({ connectionString: pg.connectionString }, flags),
      stop: () => pg.stop(),
    }
  })

  it('a schema the app never created is reported, and not created', async () => {
    const r = await cli(['runs', 'list', '--store', server().url, '--schema', 'nothere'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('do-sdk: [postgres] Schema "nothere" is at version 0')
    expect(r.stderr).toContain('The CLI never creates or migrates a schema: check --store and --schema')
    // Had the first command migrated it, this one would list no runs instead.
    const again = await cli(['runs', 'list', '--store', server().url, '--schema', 'nothere'])
    expect(again.stderr).toContain('Schema "nothere" is at version 0')
  })
})
