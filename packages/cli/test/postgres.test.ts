// The CLI on PostgreSQL: a throwaway cluster on 127.0.0.1, a schema of its own (skipped with a
// warning only outside CI when PostgreSQL is missing; under CI=true that is a failure).
import { postgresStore } from '@do-sdk/store-postgres'
import { describe } from 'vitest'
import { havePostgres, startPostgres } from '../../store-postgres/test/postgres-server.js'
import { serverScenario } from './server-scenario.js'

const run = havePostgres()
if (!run) console.warn('\n*** PostgreSQL not found: SKIPPING the CLI tests on PostgreSQL (CI=true makes this a failure). ***\n')

describe.runIf(run)('do-sdk on PostgreSQL', () => {
  serverScenario(async () => {
    const pg = await startPostgres()
    const flags = { namespace: 'cli-test', schema: 'do_cli' }
    return {
      url: pg.connectionString,
      flags,
      open: () => postgresStore({ connectionString: pg.connectionString }, flags),
      stop: () => pg.stop(),
    }
  })
})
