import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { findBinary, freePort, isRoot, missing, ms, password, run, tail } from './util.js'

/** A throwaway MariaDB (or MySQL) server on 127.0.0.1 and a unix socket in its temp folder. */
export interface MysqlServer {
  host: '127.0.0.1'
  port: number
  user: string
  password: string
  database: string
  uri: string
  /** Runs SQL as root over the unix socket. */
  admin(sql: string): Promise<unknown>
  startupMs: number
  stop(): Promise<void>
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin']

/** The server and installer binaries, or undefined when either is missing. `MYSQL_BIN_DIR` overrides the search. */
export const mysqlBinaries = () => {
  const pinned = process.env.MYSQL_BIN_DIR
  const dirs = pinned ? [pinned] : SBIN
  const server = findBinary(['mariadbd', 'mysqld'], dirs, !pinned)
  const install = findBinary(['mariadb-install-db', 'mysql_install_db'], dirs, !pinned)
  return server && install ? { server, install } : undefined
}

const waitForSocket = async (socketPath: string, child: ChildProcess, log: string) => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`MariaDB exited with code ${child.exitCode}\n${tail(log)}`)
    try {
      const conn = await mysql.createConnection({ socketPath, user: 'root' })
      await conn.end()
      return
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(`MariaDB did not accept connections within 30 s\n${tail(log)}`)
}

/** Creates a data folder with mariadb-install-db and starts mariadbd on a free port (as root: --user=root). */
export const startMysql = async (): Promise<MysqlServer> => {
  const started = process.hrtime.bigint()
  const bins = mysqlBinaries()
  if (!bins) throw new Error(missing('mariadbd / mariadb-install-db', 'mariadb-server'))
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-my-'))
  const data = join(dir, 'data')
  const socketPath = join(dir, 'mysqld.sock')
  const log = join(dir, 'server.log')
  const user = isRoot() ? ['--user=root'] : []
  const port = await freePort()
  let child: ChildProcess | undefined
  const stopSync = () => {
    child?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await run(bins.install, [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      ...user,
    ])
    child = spawn(
      bins.server,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${socketPath}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--log-error=${log}`,
        '--skip-name-resolve',
        '--skip-log-bin',
        '--skip-performance-schema',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
        '--innodb-buffer-pool-size=32M',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_unicode_ci',
        ...user,
      ],
      { stdio: 'ignore' },
    )
    await waitForSocket(socketPath, child, log)
  } catch (error) {
    const detail = tail(log)
    stopSync()
    throw new Error(`MariaDB did not start: ${(error as Error).message}\n${detail}`)
  }
  process.once('exit', stopSync)
  const admin = async (sql: string) => {
    const conn = await mysql.createConnection({ socketPath, user: 'root' })
    try {
      const [result] = await conn.query(sql)
      return result
    } finally {
      await conn.end()
    }
  }
  const secret = password()
  await admin('CREATE DATABASE app')
  await admin(`CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '${secret}'`)
  await admin(`GRANT ALL ON app.* TO 'app'@'127.0.0.1'`)
  return {
    host: '127.0.0.1',
    port,
    user: 'app',
    password: secret,
    database: 'app',
    uri: `mysql://app:${secret}@127.0.0.1:${port}/app`,
    admin,
    startupMs: ms(started),
    async stop() {
      process.removeListener('exit', stopSync)
      const exited = child && child.exitCode === null ? new Promise((r) => child!.once('exit', r)) : Promise.resolve()
      child?.kill('SIGKILL')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
