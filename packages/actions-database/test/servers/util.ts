import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const run = promisify(execFile)

/** A TCP port free on 127.0.0.1 right now. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** A password made of letters and digits (no URL encoding needed). */
export const password = () => `pw${randomBytes(12).toString('hex')}`

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** The first of `names` found in `dirs` (and in PATH unless `usePath` is false). */
export const findBinary = (names: string[], dirs: string[], usePath = true): string | undefined => {
  const path = (usePath ? (process.env.PATH ?? '').split(':') : []).concat(dirs)
  for (const name of names) for (const dir of path) if (dir && existsSync(join(dir, name))) return join(dir, name)
  return undefined
}

/** Numbered subfolders of `root`, highest version first (e.g. /usr/lib/postgresql/16, 15). */
export const versionDirs = (root: string): string[] => {
  if (!existsSync(root)) return []
  return readdirSync(root)
    .filter((d) => /^\d+(\.\d+)?$/.test(d))
    .sort((a, b) => Number(b) - Number(a))
    .map((d) => join(root, d))
}

export const uidOf = (user: string): { uid: number; gid: number } => ({
  uid: Number(execFileSync('id', ['-u', user]).toString().trim()),
  gid: Number(execFileSync('id', ['-g', user]).toString().trim()),
})

/** The last lines of a log file, for an error message. */
export const tail = (file: string, lines = 15): string => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Why a server cannot start here, for the skip message (and the failure under CI). */
export const missing = (what: string, pkg: string) =>
  `${what} not found: install the Debian package ${pkg} (apt-get install -y ${pkg}) or run node scripts/system-deps.mjs`

export const ms = (since: bigint) => Number((process.hrtime.bigint() - since) / 1_000_000n)
