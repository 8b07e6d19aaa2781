import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

/** Who may see the runs (`viewer`) and who may also signal, cancel, retry and fork them (`admin`). */
export type Role = 'admin' | 'viewer'

export interface User {
  name: string
  role: Role
}

/** The app's user list: name → password and role (a real app keeps hashes in its database). */
export type UserTable = Record<string, { password: string; role: Role }>

const SALT = randomBytes(16)
const hash = (password: string) => scryptSync(password, SALT, 32)

/**
 * Users and sign-in sessions, in memory. Passwords are kept as scrypt hashes and compared in
 * constant time; an unknown name costs the same hash, so timing does not tell names apart.
 */
export const sessionStore = (users: UserTable) => {
  const known = new Map(Object.entries(users).map(([name, u]) => [name, { hash: hash(u.password), role: u.role }]))
  const dummy = hash(randomBytes(16).toString('hex'))
  const sessions = new Map<string, User>()
  return {
    /** A new session id for a valid name and password, else undefined. */
    signIn(name: string, password: string): string | undefined {
      const user = known.get(name)
      const ok = timingSafeEqual(hash(password), user?.hash ?? dummy) && user !== undefined
      if (!ok || !user) return undefined
      const sid = randomBytes(32).toString('base64url')
      sessions.set(sid, { name, role: user.role })
      return sid
    },
    /** The user of a session id. */
    userOf: (sid: string | undefined): User | undefined => (sid ? sessions.get(sid) : undefined),
    signOut: (sid: string | undefined) => {
      if (sid) sessions.delete(sid)
    },
  }
}

export type SessionStore = ReturnType<typeof sessionStore>

export const SESSION_COOKIE = 'sid'

/** The session id of a Cookie header. */
export const sessionIdOf = (cookieHeader: string | undefined): string | undefined => {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === SESSION_COOKIE) return value.join('=')
  }
  return undefined
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The sign-in page (no script; `next` is a path of this app, checked before it is used). */
export const loginPage = (next: string, error?: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label>Name <input name="name" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`

/** Where to go after signing in: only a path under /admin/runs (no open redirect to another site). */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/admin\/runs(\/[^\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/admin/runs/'
