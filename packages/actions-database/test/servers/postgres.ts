import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { findBinary, freePort, isRoot, missing, ms, password, run, tail, uidOf, versionDirs } from './util.js'

/** A throwaway PostgreSQL cluster on 127.0.0.1 and a unix socket in its temp folder. */
export interface PostgresServer {
  host: '127.0.0.1'
  port: number
  /** Login role of the tests (scram-sha-256 over TCP). */
  user: string
  password: string
  database: string
  connectionString: string
  /** Runs SQL as the superuser over the unix socket. */
  admin(sql: string): Promise<pg.QueryResult>
  startupMs: number
  stop(): Promise<void>
}

/** The folder holding initdb and pg_ctl (Debian keeps them out of PATH), or undefined. `PG_BIN` overrides the search. */
export const postgresBinDir = (): string | undefined => {
  const pinned = process.env.PG_BIN
  const initdb = pinned
    ? findBinary(['initdb'], [pinned], false)
    : findBinary(
        ['initdb'],
        versionDirs('/usr/lib/postgresql').map((d) => join(d, 'bin')),
      )
  return initdb ? initdb.slice(0, -'/initdb'.length) : undefined
}

/** Starts a cluster: initdb (as the postgres user when root, which initdb refuses to be), then pg_ctl start. */
export const startPostgres = async (): Promise<PostgresServer> => {
  const started = process.hrtime.bigint()
  const bin = postgresBinDir()
  if (!bin) throw new Error(missing('initdb / pg_ctl', 'postgresql'))
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-pg-'))
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  const asOwner = (cmd: string, args: string[]) => (isRoot() ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args))
  if (isRoot()) {
    const { uid, gid } = uidOf('postgres')
    chownSync(dir, uid, gid)
  }
  chmodSync(dir, 0o700)
  const port = await freePort()
  const pgCtl = join(bin, 'pg_ctl')
  const stopSync = () => {
    try {
      const args = ['-D', data, '-m', 'immediate', '-w', 'stop']
      if (isRoot()) execFileSync('runuser', ['-u', 'postgres', '--', pgCtl, ...args], { stdio: 'ignore' })
      else execFileSync(pgCtl, args, { stdio: 'ignore' })
    } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const initArgs = [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]
    await asOwner(join(bin, 'initdb'), initArgs)
    const serverOptions = `-k ${dir} -p ${port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
    await asOwner(pgCtl, ['-D', data, '-l', log, '-w', '-t', '30', '-o', serverOptions, 'start'])
  } catch (error) {
    const detail = tail(log)
    stopSync()
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${detail}`)
  }
  // A test process that dies without afterAll still stops its cluster.
  process.once('exit', stopSync)
  const admin = async (sql: string) => {
    const client = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' })
    await client.connect()
    try {
      return await client.query(sql)
    } finally {
      await client.end()
    }
  }
  const secret = password()
  await admin(`CREATE ROLE app LOGIN PASSWORD '${secret}'`)
  await admin('CREATE DATABASE app OWNER app')
  return {
    host: '127.0.0.1',
    port,
    user: 'app',
    password: secret,
    database: 'app',
    connectionString: `postgres://app:${secret}@127.0.0.1:${port}/app`,
    admin,
    startupMs: ms(started),
    async stop() {
      process.removeListener('exit', stopSync)
      stopSync()
    },
  }
}
