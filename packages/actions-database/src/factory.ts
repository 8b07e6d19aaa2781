import { type Action, type ActionContext, action, definePlugin, type Plugin } from '@do-sdk/core'
import { idempotentInsert, plainInsert } from './actions/insert.js'
import { query, select } from './actions/read.js'
import { remove, update, upsert } from './actions/write.js'
import { connect } from './connect.js'
import { guarded, type PackContext } from './context.js'
import type { DriverLoader } from './drivers.js'
import { toAllowList } from './identifiers.js'
import {
  type DeleteInput,
  type InsertInput,
  inputSchemas,
  type QueryInput,
  type SelectInput,
  type UpdateInput,
  type UpsertInput,
} from './inputs.js'
import type { DatabaseActionsOptions } from './options.js'
import {
  type InsertOutput,
  insertOutput,
  type QueryOutput,
  queryOutput,
  type SelectOutput,
  selectOutput,
  type WriteOutput,
  writeOutput,
} from './outputs.js'
import { secretsOf, validateOptions } from './validate-options.js'

/** The actions, plugin and lifecycle of one database. */
export interface DatabaseActions {
  insert: Action<InsertInput, InsertOutput>
  update: Action<UpdateInput, WriteOutput>
  upsert: Action<UpsertInput, WriteOutput>
  delete: Action<DeleteInput, WriteOutput>
  select: Action<SelectInput, SelectOutput>
  query: Action<QueryInput, QueryOutput>
  /** Registers the actions with an engine (`query` only when raw queries are allowed). */
  plugin: Plugin
  /** Closes the connection pool the pack opened (an instance given as `db` is left open). Idempotent. */
  close(): Promise<void>
}

const DEFAULT_RETRY = { retries: 3, factor: 2, minTimeout: 100, randomize: true }

/**
 * Database actions on one SQLite, PostgreSQL or MySQL database, through Kysely: identifiers always quoted,
 * values always bound. Options are checked at once (an `InvalidArgumentError` names the bad one); the
 * connection opens on the first query.
 *
 * @example
 * ```ts
 * const db = databaseActions({ dialect: 'postgres', connectionString: process.env.DATABASE_URL, tables: ['users'] })
 * // inside a workflow: written once, even when the attempt is retried
 * const { rows } = await step.run(db.insert, {
 *   table: 'users', values: { email: input.email }, idempotencyKey: 'request_key',
 * })
 * const engine = createEngine({ store, workflows, plugins: [db.plugin] })
 * ```
 */
export const databaseActions = (options: DatabaseActionsOptions): DatabaseActions => createDatabaseActions(options)

/** {@link databaseActions}, with the driver loader injectable (tests stand in for a machine without a driver). */
export const createDatabaseActions = (options: DatabaseActionsOptions, internals: { loadDriver?: DriverLoader } = {}): DatabaseActions => {
  validateOptions(options)
  const name = options.name ?? 'database'
  const allow = options.tables ? toAllowList(options.tables) : undefined
  const maxRows = options.maxRows ?? 1000
  const rawAllowed = options.allowRawQuery ?? allow === undefined
  const connection = connect(options, internals.loadDriver)
  let closed = false
  const pack: PackContext = {
    db: connection.db,
    dialect: connection.dialect,
    secrets: secretsOf(options),
    maxRows,
    allow,
    schema: options.schema,
    busyTimeoutMs: options.dialect === 'sqlite' && 'path' in options ? (options.busyTimeoutMs ?? 5000) : 5000,
    isClosed: () => closed,
  }
  const schemas = inputSchemas(pack.dialect, allow, maxRows)
  const common = { retry: options.retry ?? DEFAULT_RETRY, timeout: options.timeout }
  const on = `a ${pack.dialect} database`

  const insert = action.create({
    id: `${name}.insert`,
    description: `Inserts one row or several into a table of ${on}; with idempotencyKey, a retried attempt returns the row the first one wrote.`,
    input: schemas.insert,
    output: insertOutput,
    ...common,
    execute: (input: InsertInput, ctx: ActionContext) =>
      guarded(pack, 'insert', input.table, ctx, (p) =>
        input.idempotencyKey === undefined ? plainInsert(p, input) : idempotentInsert(p, input, ctx.idempotencyKey),
      ),
  })
  const updateAction = action.create({
    id: `${name}.update`,
    description: `Updates the rows of a table of ${on} that match a condition.`,
    input: schemas.update,
    output: writeOutput,
    ...common,
    execute: (input: UpdateInput, ctx: ActionContext) => guarded(pack, 'update', input.table, ctx, (p) => update(p, input)),
  })
  const upsertAction = action.create({
    id: `${name}.upsert`,
    description: `Inserts rows into a table of ${on}, updating the ones that conflict on a unique key.`,
    input: schemas.upsert,
    output: writeOutput,
    ...common,
    execute: (input: UpsertInput, ctx: ActionContext) => guarded(pack, 'upsert', input.table, ctx, (p) => upsert(p, input)),
  })
  const deleteAction = action.create({
    id: `${name}.delete`,
    description: `Deletes the rows of a table of ${on} that match a condition.`,
    input: schemas.delete,
    output: writeOutput,
    ...common,
    execute: (input: DeleteInput, ctx: ActionContext) => guarded(pack, 'delete', input.table, ctx, (p) => remove(p, input)),
  })
  const selectAction = action.create({
    id: `${name}.select`,
    description: `Reads the rows of a table of ${on} that match a condition, ordered and paged.`,
    input: schemas.select,
    output: selectOutput,
    ...common,
    execute: (input: SelectInput, ctx: ActionContext) => guarded(pack, 'select', input.table, ctx, (p) => select(p, input)),
  })
  const subject = `input of action "${name}.query"`
  const queryAction = action.create({
    id: `${name}.query`,
    description: `Runs one parameterized SQL statement on ${on}; parameters are bound, never spliced into the SQL.`,
    input: schemas.query,
    output: queryOutput,
    ...common,
    execute: (input: QueryInput, ctx: ActionContext) => guarded(pack, 'query', undefined, ctx, (p) => query(p, input, subject, rawAllowed)),
  })

  const registered: Action[] = [insert, updateAction, upsertAction, deleteAction, selectAction, ...(rawAllowed ? [queryAction] : [])]
  return {
    insert,
    update: updateAction,
    upsert: upsertAction,
    delete: deleteAction,
    select: selectAction,
    query: queryAction,
    plugin: definePlugin({
      name: name === 'database' ? '@do-sdk/actions-database' : `@do-sdk/actions-database:${name}`,
      setup(ctx) {
        for (const a of registered) ctx.registerAction(a)
      },
    }),
    async close() {
      if (closed) return
      closed = true
      if (connection.owned) await connection.db.destroy()
    },
  }
}
