// Starts one throwaway PostgreSQL cluster on 127.0.0.1 for the engine-on-postgres project (each test
// uses its own namespace). Under CI=true a missing PostgreSQL fails the project, it never skips.
import type { TestProject } from 'vitest/node'

export default async function setup(project: TestProject) {
  const { startPostgres } = await import('../../../store-postgres/test/postgres-server.js')
  // Tests do not always close their stores: room for their pools and LISTEN sessions.
  const server = await startPostgres({ settings: { max_connections: '1000' } })
  project.provide('postgresUrl', server.connectionString)
  return async () => server.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}
