// A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` + `pg_ctl` from the Debian package
// `postgresql`, on 127.0.0.1 and a unix socket in its temp folder. Same approach as
// packages/actions-database/test/servers/postgres.ts, with durability and server settings as options
// so the bench can run with the server's defaults (fsync on). Reused by packages/core/test (engine
// suite, multi-process) and bench/ by relative path.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** A running cluster. */
export interface PostgresServer {
  host: '127.0.0.1'
  port: number
  /** Login role (scram-sha-256 over TCP), owner of {@link database}. */
  user: string
  password: string
  database: string
  /** `postgres://user:password@127.0.0.1:port/database` */
  connectionString: string
  /** Server version, e.g. `15.8`. */
  version: string
  /** Runs SQL as the superuser over the unix socket. */
  admin(sql: string, database?: string): Promise<pg.QueryResult>
  /** Creates another database owned by {@link user}; resolves to its connection string. */
  createDatabase(name: string): Promise<string>
  stop(): Promise<void>
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * `false` (tests): `fsync`, `synchronous_commit` and `full_page_writes` off. `true` (benchmarks):
   * the server's durable defaults. @default false
   */
  durable?: boolean
  /** More `-c name=value` server settings, e.g. `{ max_connections: '200' }`. */
  settings?: Record<string, string>
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** The folder holding initdb and pg_ctl (Debian keeps them out of PATH), or undefined. `PG_BIN` overrides the search. */
export const postgresBinDir = (): string | undefined => {
  const dirs = process.env.PG_BIN
    ? [process.env.PG_BIN]
    : existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .filter((d) => /^\d+(\.\d+)?$/.test(d))
          .sort((a, b) => Number(b) - Number(a))
          .map((d) => join('/usr/lib/postgresql', d, 'bin'))
      : []
  return dirs.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const tail = (file: string, lines = 15) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

const MISSING =
  'PostgreSQL not found (initdb / pg_ctl): install the Debian package postgresql (apt-get install -y postgresql), run node scripts/system-deps.mjs, or set PG_BIN'

/** Starts a cluster: initdb (as the postgres user when root, which initdb refuses to be), then pg_ctl start. */
export const startPostgres = async (options: StartPostgresOptions = {}): Promise<PostgresServer> => {
  const bin = postgresBinDir()
  if (!bin) throw new Error(MISSING)
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-store-pg-'))
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  const owner = isRoot()
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      }
    : undefined
  const asOwner = (cmd: string, args: string[]) => (owner ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args))
  if (owner) chownSync(dir, owner.uid, owner.gid)
  chmodSync(dir, 0o700)
  const pgCtl = join(bin, 'pg_ctl')
  const stopSync = () => {
    try {
      const args = ['-D', data, '-m', 'immediate', '-w', 'stop']
      if (owner) execFileSync('runuser', ['-u', 'postgres', '--', pgCtl, ...args], { stdio: 'ignore' })
      else execFileSync(pgCtl, args, { stdio: 'ignore' })
    } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  const settings: Record<string, string> = {
    ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...options.settings,
  }
  let port = 0
  try {
    const init = ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C']
    await asOwner(join(bin, 'initdb'), options.durable ? init : [...init, '--no-sync'])
    for (let attempt = 0; ; attempt++) {
      port = await freePort()
      const flags = [`-k ${dir} -p ${port} -h 127.0.0.1`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ')
      try {
        await asOwner(pgCtl, ['-D', data, '-l', log, '-w', '-t', '60', '-o', flags, 'start'])
        break
      } catch (error) {
        if (attempt >= 2) throw error // the port was taken between probe and start: try another
      }
    }
  } catch (error) {
    const detail = tail(log)
    stopSync()
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${detail}`)
  }
  // A process that dies without its afterAll still stops its cluster.
  process.once('exit', stopSync)
  const admin = async (sql: string, database = 'postgres') => {
    const client = new pg.Client({ host: dir, port, user: 'postgres', database })
    await client.connect()
    try {
      return await client.query(sql)
    } finally {
      await client.end()
    }
  }
  const password = `pw${randomBytes(12).toString('hex')}`
  await admin(`CREATE ROLE app LOGIN PASSWORD '${password}'`)
  await admin('CREATE DATABASE app OWNER app')
  const version = String((await admin('SHOW server_version')).rows[0]?.server_version ?? '?')
  const url = (database: string) => `postgres://app:${password}@127.0.0.1:${port}/${database}`
  return {
    host: '127.0.0.1',
    port,
    user: 'app',
    password,
    database: 'app',
    connectionString: url('app'),
    version,
    admin,
    async createDatabase(name) {
      await admin(`CREATE DATABASE "${name.replace(/"/g, '""')}" OWNER app`)
      return url(name)
    },
    async stop() {
      process.removeListener('exit', stopSync)
      stopSync()
    },
  }
}

/**
 * For test files: a started server, or — outside CI only — `undefined` with a loud warning when
 * PostgreSQL is missing, so the tests are skipped on a laptop without it. Under `CI=true` a missing
 * server fails instead: CI never skips them.
 */
export const startPostgresForTests = async (options?: StartPostgresOptions): Promise<PostgresServer | undefined> => {
  if (postgresBinDir() || process.env.CI === 'true') return startPostgres(options)
  console.warn(`\n\n*** ${MISSING}: SKIPPING the PostgreSQL tests. CI=true makes this a failure. ***\n\n`)
  return undefined
}

/** True when the tests can start PostgreSQL here, or must (under CI, where a missing server fails). */
export const havePostgres = () => postgresBinDir() !== undefined || process.env.CI === 'true'
