import { MIGRATIONS, quoteIdent, SCHEMA_VERSION } from './schema.js'

/** The parts of a node-postgres `Pool` (or `Client`) the migration needs. */
export interface Queryable {
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
}

/** The parts of a node-postgres `Pool` the migration needs: one client for its transaction. */
export interface MigrationPool extends Queryable {
  connect(): Promise<Queryable & { release(error?: Error | boolean): void }>
}

const UNDEFINED_TABLE = '42P01'
const INVALID_SCHEMA = '3F000'

/** The schema version recorded in `schema`, 0 when the store was never set up there. */
export const schemaVersion = async (db: Queryable, schema: string): Promise<number> => {
  try {
    const { rows } = await db.query(`SELECT coalesce(max(version), 0) AS v FROM ${quoteIdent(schema)}.do_migrations`)
    return Number(rows[0]?.v ?? 0)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === UNDEFINED_TABLE || code === INVALID_SCHEMA) return 0
    throw error
  }
}

/**
 * Brings `schema` to {@link SCHEMA_VERSION}: creates the schema when missing, the migrations table,
 * then applies each missing migration and records it, all in one transaction under a
 * transaction-level advisory lock on the schema's name. Several processes starting at once queue on
 * that lock; each then finds the work done and applies nothing (idempotent). A database already at
 * the latest version costs one query and takes no lock. Resolves to the versions it applied.
 *
 * Needs CREATE on the database (to create the schema) or on the schema, the first time only.
 */
export const migrate = async (pool: MigrationPool, schema: string): Promise<number[]> => {
  if ((await schemaVersion(pool, schema)) >= SCHEMA_VERSION) return []
  const s = quoteIdent(schema)
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`do-sdk:migrate:${schema}`])
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database even when the schema exists.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (exists.rows.length === 0) await client.query(`CREATE SCHEMA ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.do_migrations (
      version int PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const current = await schemaVersion(client, schema)
    const applied: number[] = []
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue
      await client.query(m.sql(s))
      await client.query(`INSERT INTO ${s}.do_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name])
      applied.push(m.version)
    }
    await client.query('COMMIT')
    return applied
  } catch (error) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e
    })
    throw error
  } finally {
    client.release(broken ?? false)
  }
}
