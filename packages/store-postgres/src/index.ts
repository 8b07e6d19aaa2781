export type { PgPool, PostgresConnection, PostgresStoreOptions } from './options.js'
export { postgresStore } from './postgres-store.js'
