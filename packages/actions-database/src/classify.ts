import type { ConstraintKind, Dialect } from './errors.js'

/** How a driver error should be handled: retried, reported as a constraint violation, or failed at once. */
export type Classification =
  | { kind: 'transient'; code?: string }
  | { kind: 'constraint'; code?: string; constraint?: string; constraintKind: ConstraintKind }
  | { kind: 'permanent'; code?: string }
  | { kind: 'unknown' }

// Socket-level failures (Node, pg and mysql2 report them the same way): the server may be back soon.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
])
const NETWORK_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error|Connection lost/i

const PG_CONSTRAINTS: Record<string, ConstraintKind> = {
  '23505': 'unique',
  '23503': 'foreign_key',
  '23514': 'check',
  '23502': 'not_null',
  '23P01': 'exclusion',
}
// 08 connection exception, 40 transaction rollback (serialization failure, deadlock), 53 insufficient
// resources (too many connections), 57P0x server shutting down or starting, 55P03 lock not available,
// 57014 statement timeout, 58 system error.
const pgTransient = (code: string) =>
  ['08', '40', '53', '58'].includes(code.slice(0, 2)) || ['57P01', '57P02', '57P03', '55P03', '57014'].includes(code)

const classifyPostgres = (err: Record<string, unknown>, code: string): Classification => {
  const constraintKind = PG_CONSTRAINTS[code] ?? (code.startsWith('23') ? 'unknown' : undefined)
  if (constraintKind) {
    const constraint = (err.constraint as string | undefined) ?? (err.column as string | undefined)
    return { kind: 'constraint', code, constraint, constraintKind }
  }
  return pgTransient(code) ? { kind: 'transient', code } : { kind: 'permanent', code }
}

// ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK, ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED,
// CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_SERVER_GONE_ERROR, CR_SERVER_LOST, ER_CLIENT_INTERACTION_TIMEOUT.
const MYSQL_TRANSIENT = new Set([1205, 1213, 1040, 1053, 1927, 2002, 2003, 2006, 2013, 4031])
const MYSQL_CONSTRAINTS: Record<number, ConstraintKind> = {
  1062: 'unique',
  1586: 'unique',
  1216: 'foreign_key',
  1217: 'foreign_key',
  1451: 'foreign_key',
  1452: 'foreign_key',
  3819: 'check',
  4025: 'check',
  1048: 'not_null',
  1364: 'not_null',
}

// MySQL names the constraint only inside the message, in one of these shapes.
const mysqlConstraintName = (message: string): string | undefined => {
  const patterns = [
    /for key '([^']+)'/, // Duplicate entry 'x' for key 'users_email_uq' (MySQL 8: 'users.users_email_uq')
    /CONSTRAINT `([^`]+)`/, // foreign keys, MariaDB checks
    /Check constraint '([^']+)'/, // MySQL checks
    /(?:Column|Field) '([^']+)'/, // not null
  ]
  for (const pattern of patterns) {
    const match = pattern.exec(message)
    if (match) return match[1].includes('.') && pattern === patterns[0] ? match[1].split('.').pop() : match[1]
  }
  return undefined
}

const classifyMysql = (errno: number, code: string | undefined, message: string): Classification => {
  const constraintKind = MYSQL_CONSTRAINTS[errno]
  if (constraintKind) return { kind: 'constraint', code, constraint: mysqlConstraintName(message), constraintKind }
  return MYSQL_TRANSIENT.has(errno) ? { kind: 'transient', code } : { kind: 'permanent', code }
}

const SQLITE_CONSTRAINTS: Record<string, ConstraintKind> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign_key',
  SQLITE_CONSTRAINT_CHECK: 'check',
  SQLITE_CONSTRAINT_NOTNULL: 'not_null',
}

const classifySqlite = (code: string, message: string): Classification => {
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === 'SQLITE_PROTOCOL') {
    return { kind: 'transient', code }
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    // "UNIQUE constraint failed: users.email", "CHECK constraint failed: users_age_check"
    const constraint = /constraint failed: (.+)$/.exec(message)?.[1]
    return { kind: 'constraint', code, constraint, constraintKind: SQLITE_CONSTRAINTS[code] ?? 'unknown' }
  }
  return { kind: 'permanent', code }
}

/** Sorts a driver error into transient (retry), constraint (never retry, name it) or permanent (never retry). */
export const classify = (dialect: Dialect, error: unknown): Classification => {
  if (typeof error !== 'object' || error === null) return { kind: 'unknown' }
  const err = error as Record<string, unknown>
  const code = typeof err.code === 'string' ? err.code : undefined
  const message = typeof err.message === 'string' ? err.message : ''
  if (code && NETWORK_CODES.has(code)) return { kind: 'transient', code }
  if (dialect === 'postgres' && code && /^[0-9A-Z]{5}$/.test(code)) return classifyPostgres(err, code)
  if (dialect === 'mysql' && typeof err.errno === 'number' && (err.sqlState || err.sqlMessage || err.errno >= 1000)) {
    return classifyMysql(err.errno, code, message)
  }
  if (dialect === 'sqlite' && code?.startsWith('SQLITE_')) return classifySqlite(code, message)
  if (NETWORK_MESSAGES.test(message)) return { kind: 'transient', code }
  return { kind: 'unknown' }
}
