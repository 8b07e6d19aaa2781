const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML content and quoted attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)

/** The tab icon (served: the CSP allows no data: URL, and browsers ask for /favicon.ico otherwise). */
export const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2d5bd7"/><path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>'

/** What the page hands to its script (read from a `<meta>` element: the CSP allows no inline script). */
export interface PageConfig {
  base: string
  csrfToken: string
  write: boolean
  refreshInterval: number
  version: string
}

/**
 * The one HTML page. It holds no run data: the script fetches everything from the JSON API and
 * puts it on the page as text nodes.
 */
export const renderPage = (config: PageConfig): string => {
  const base = escapeHtml(config.base)
  const v = escapeHtml(config.version)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>do-sdk runs</title>
<meta name="do-sdk-dashboard" data-base="${base}" data-csrf="${escapeHtml(config.csrfToken)}" data-write="${config.write}" data-refresh="${config.refreshInterval}">
<link rel="icon" href="${base}/assets/favicon.svg">
<link rel="stylesheet" href="${base}/assets/dashboard.css?v=${v}">
<script src="${base}/assets/dashboard.js?v=${v}" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="#/runs">do-sdk</a><nav id="nav"></nav><span id="who"></span></header>
<main id="app"><noscript>The dashboard needs JavaScript.</noscript></main>
</body>
</html>
`
}
