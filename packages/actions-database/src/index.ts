export type { ConstraintKind, Dialect } from './errors.js'
export { ConstraintViolationError, DatabaseError, MissingDriverError } from './errors.js'
export type { DatabaseActions } from './factory.js'
export { databaseActions } from './factory.js'
export type { DeleteInput, InsertInput, QueryInput, Returning, SelectInput, UpdateInput, UpsertInput } from './inputs.js'
export type {
  CommonOptions,
  DatabaseActionsOptions,
  KyselyInstanceOptions,
  MysqlOptions,
  MysqlPoolConfig,
  PostgresOptions,
  PostgresPoolConfig,
  SqliteOptions,
} from './options.js'
export type { InsertOutput, QueryOutput, SelectOutput, WriteOutput } from './outputs.js'
export type { Params } from './raw-sql.js'
export type { ColumnValue, Scalar } from './values.js'
export type { Where, WhereOperators } from './where.js'
