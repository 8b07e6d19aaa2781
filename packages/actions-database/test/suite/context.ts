import type { Logger } from '@do-sdk/core'
import { vi } from 'vitest'
import type { DatabaseActions, DatabaseActionsOptions, Dialect } from '../../src/index.js'

/** What a dialect's test file gives the shared suite once its server is up. */
export interface Harness {
  dialect: Dialect
  /** Options of the pack under test. */
  options: DatabaseActionsOptions
  /** The same database through the other way of connecting (pool object, or an existing Kysely instance). */
  altOptions: DatabaseActionsOptions
  /** Runs SQL on the driver directly, not through the pack: for setup and for checking what was stored. */
  exec(sql: string): Promise<Record<string, unknown>[]>
  /** Options under which every attempt fails with a transient error (dead port, locked file). */
  transient(): Promise<{ options: DatabaseActionsOptions; release(): Promise<void> }>
  /** Options with a wrong password, and the strings that must not appear in any error. */
  wrongPassword?: { options: DatabaseActionsOptions; secrets: string[] }
  stop(): Promise<void>
}

/** A dialect's entry: how to start it, or why it cannot start here. */
export interface Target {
  dialect: Dialect
  /** Set when the server binaries are missing: skip outside CI, fail under CI. */
  missing?: string
  start(): Promise<Harness>
}

/** Filled in by the suite's beforeAll. */
export interface SuiteContext {
  harness: Harness
  db: DatabaseActions
}

/** Quotes an identifier the way the dialect does (for the tests' own SQL). */
export const quoter = (dialect: Dialect) => (name: string) =>
  dialect === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`

/** A logger whose debug calls are counted (the pack logs each failed attempt at debug). */
export const countingLogger = () => {
  const debug = vi.fn()
  const log: Logger = { debug, info: () => {}, warn: () => {}, error: () => {} }
  const failedAttempts = () => debug.mock.calls.filter(([message]) => String(message).includes('failed')).length
  return { log, failedAttempts }
}

/** Awaits a promise that must reject, and returns what it threw. */
export const rejection = async (promise: Promise<unknown>): Promise<Error & Record<string, any>> => {
  try {
    await promise
  } catch (error) {
    return error as Error & Record<string, any>
  }
  throw new Error('expected a rejection, got a result')
}

export const HOSTILE_TABLE = 'users"; DROP TABLE x; --'
export const HOSTILE_COLUMN = 'na`me"; DROP TABLE x; --'

/** Tables every dialect gets, in its own DDL. */
export const schemaFor = (dialect: Dialect): string[] => {
  const q = quoter(dialect)
  const id = { postgres: 'SERIAL PRIMARY KEY', mysql: 'INT AUTO_INCREMENT PRIMARY KEY', sqlite: 'INTEGER PRIMARY KEY AUTOINCREMENT' }[
    dialect
  ]
  const engine = dialect === 'mysql' ? ' ENGINE=InnoDB' : ''
  return [
    `CREATE TABLE users (id ${id}, email VARCHAR(200) NOT NULL, name VARCHAR(200), age INTEGER, meta TEXT,
      request_key VARCHAR(200), CONSTRAINT users_email_uq UNIQUE (email),
      CONSTRAINT users_request_key_uq UNIQUE (request_key), CONSTRAINT users_age_check CHECK (age >= 0))${engine}`,
    `CREATE TABLE events (id ${id}, request_key VARCHAR(200), label VARCHAR(200))${engine}`,
    `CREATE TABLE orders (id ${id}, user_id INTEGER NOT NULL,
      CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id))${engine}`,
    'CREATE TABLE x (id INTEGER)',
    `CREATE TABLE ${q(HOSTILE_TABLE)} (${q(HOSTILE_COLUMN)} VARCHAR(200), n INTEGER)${engine}`,
  ]
}

/** Emptied before each test, children first. */
export const TABLES = ['orders', 'users', 'events', HOSTILE_TABLE]
