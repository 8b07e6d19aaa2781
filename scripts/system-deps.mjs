// Installs the Debian packages whose servers the tests start on 127.0.0.1 (Redis, …), when missing.
// Used by .ci/run and by `pnpm test`, so the README's test command works on a fresh machine.
import { execSync } from 'node:child_process'

const needed = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'pg_ctlcluster', pkg: 'postgresql' },
  { bin: 'pgbouncer', pkg: 'pgbouncer' },
  { bin: 'mariadb-install-db', pkg: 'mariadb-server' },
  // The dashboard's browser test drives Debian's Chromium (never a downloaded browser).
  { bin: 'chromium', pkg: 'chromium' },
]

const has = (bin) => {
  try {
    execSync(`command -v ${bin}`, { stdio: 'ignore', shell: '/bin/sh' })
    return true
  } catch {
    return false
  }
}

const missing = needed.filter((n) => !has(n.bin))
if (missing.length > 0) {
  const pkgs = missing.map((m) => m.pkg).join(' ')
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const sudo = isRoot ? '' : has('sudo') ? 'sudo ' : null
  if (sudo === null || !has('apt-get')) {
    console.error(`[do-sdk] The tests need these programs: ${pkgs}. Install them (e.g. apt-get install ${pkgs}) and run again.`)
    process.exit(1)
  }
  console.log(`[do-sdk] Installing ${pkgs} from Debian packages…`)
  execSync(`${sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq ${pkgs}`, {
    stdio: 'inherit',
    shell: '/bin/sh',
  })
  // Debian starts the services it installs; the tests start their own on free ports.
  for (const m of missing) {
    try {
      execSync(`${sudo}service ${m.bin} stop`, { stdio: 'ignore', shell: '/bin/sh' })
    } catch {}
  }
}
