// A throwaway PgBouncer (Debian package `pgbouncer`) in TRANSACTION mode in front of a test cluster,
// on a free 127.0.0.1 port: each transaction may run on another server connection, as in
// production poolers. Started as the postgres user when root (PgBouncer refuses to run as root).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PostgresServer } from './postgres-server.js'

/** A running PgBouncer. */
export interface PgBouncer {
  port: number
  /** `postgres://app:…@127.0.0.1:<port>/app`, through the pooler. */
  connectionString: string
  stop(): Promise<void>
}

/** Path of the pgbouncer binary, or undefined. `PGBOUNCER_BIN` overrides the search. */
export const findPgBouncer = (): string | undefined => {
  for (const file of [process.env.PGBOUNCER_BIN, '/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) {
    if (!file) continue
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {}
  }
  return undefined
}

/** True when the tests can start PgBouncer here, or must (under CI, where a missing one fails). */
export const havePgBouncer = () => findPgBouncer() !== undefined || process.env.CI === 'true'

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

/** Starts PgBouncer in transaction mode for `server`'s database `app`, authenticating as its user. */
export const startPgBouncer = async (server: PostgresServer, poolSize = 4): Promise<PgBouncer> => {
  const bin = findPgBouncer()
  if (!bin) throw new Error('pgbouncer not found: install the Debian package pgbouncer (apt-get install -y pgbouncer) or set PGBOUNCER_BIN')
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  const dir = mkdtempSync(join(tmpdir(), 'do-sdk-pgbouncer-'))
  const port = await freePort()
  writeFileSync(join(dir, 'userlist.txt'), `"${server.user}" "${server.password}"\n`)
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${server.database} = host=127.0.0.1 port=${server.port} dbname=${server.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  )
  let owner: { uid: number; gid: number } | undefined
  if (root) {
    owner = {
      uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    }
    for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), owner.uid, owner.gid)
  }
  // Spawned directly as that user (no runuser in between), so signals reach pgbouncer itself.
  const child: ChildProcess = spawn(bin, [join(dir, 'pgbouncer.ini')], { stdio: 'ignore', ...owner })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 15_000
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      let log = ''
      try {
        log = readFileSync(join(dir, 'pgbouncer.log'), 'utf8')
      } catch {}
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`pgbouncer did not start on port ${port}:\n${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const stopSync = () => {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', stopSync)
  return {
    port,
    connectionString: `postgres://${server.user}:${server.password}@127.0.0.1:${port}/${server.database}`,
    async stop() {
      process.removeListener('exit', stopSync)
      if (child.exitCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
