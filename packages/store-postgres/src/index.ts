export type { PostgresConnection, PostgresStoreOptions } from './options.js'
export { postgresStore } from './postgres-store.js'
