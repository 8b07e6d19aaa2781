type QueryValue = string | number | boolean | null | (string | number | boolean)[]

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i

/**
 * Resolves a request URL. An absolute URL is used as is. A relative one is appended to `baseUrl`'s path
 * (`https://api.example.com/v1` + `/users` → `/v1/users`, unlike `new URL()`, which would drop `/v1`),
 * keeping `baseUrl`'s own query parameters first. `query` is appended last. The fragment is dropped.
 * @throws TypeError with a readable message when the URL cannot be used.
 */
export const resolveUrl = (url: string, baseUrl: URL | undefined, query?: Record<string, QueryValue>): URL => {
  let out: URL
  // The URL parser silently strips tabs and newlines (`exa\nmple.com` is example.com): refuse them instead.
  if ([...url].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    throw new TypeError('must not contain control characters (CR, LF, tab, NUL…)')
  if (url.startsWith('//')) throw new TypeError(`"${url}" is protocol-relative; give a scheme or a path`)
  if (ABSOLUTE.test(url)) {
    out = new URL(url)
  } else {
    if (!baseUrl) throw new TypeError(`"${url}" is relative and there is no baseUrl`)
    const relative = new URL(url, 'http://relative.invalid')
    out = new URL(baseUrl.href)
    out.pathname = `${baseUrl.pathname.replace(/\/+$/, '')}${relative.pathname}`
    for (const [k, v] of relative.searchParams) out.searchParams.append(k, v)
  }
  if (out.protocol !== 'http:' && out.protocol !== 'https:')
    throw new TypeError(`only http and https URLs are allowed, got ${out.protocol}`)
  if (out.username || out.password) throw new TypeError('URLs may not carry credentials (set them in the auth option)')
  out.hash = ''
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === null) continue
    for (const v of Array.isArray(value) ? value : [value]) out.searchParams.append(key, String(v))
  }
  return out
}

/** The URL without its query string, for messages and logs (query strings often carry tokens). */
export const displayUrl = (url: URL): string => `${url.origin}${url.pathname}`
