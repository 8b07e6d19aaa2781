import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, type Plugin, transform } from 'esbuild'

/** The browser side of the dashboard, as the handler serves it. */
export interface ClientAssets {
  js: string
  css: string
  /** Hash of both, in their URLs: a new version is fetched anew, an old one is cached. */
  version: string
}

/** Compiles `dir/main.ts` (with what it imports) and `dir/style.css` into one script and one style sheet. */
export const buildClient = async (dir: string): Promise<ClientAssets> => {
  const script = await build({
    entryPoints: [join(dir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
  })
  const js = script.outputFiles[0]?.text ?? ''
  const css = (await transform(readFileSync(join(dir, 'style.css'), 'utf8'), { loader: 'css', minify: true })).code
  const version = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12)
  return { js, css, version }
}

/**
 * The build's stand-in for `src/client-bundle.ts`: the package ships the compiled assets as string
 * constants, so the published handler needs neither esbuild nor files next to it at run time.
 */
export const clientAssetsPlugin = (dir: string): Plugin => ({
  name: 'do-sdk-dashboard-client',
  setup(b) {
    b.onResolve({ filter: /[/\\]client-bundle(\.js|\.ts)?$/ }, (args) => ({ path: args.path, namespace: 'do-sdk-dashboard-client' }))
    b.onLoad({ filter: /.*/, namespace: 'do-sdk-dashboard-client' }, async () => {
      const assets = await buildClient(dir)
      return { contents: `export const clientAssets = () => Promise.resolve(${JSON.stringify(assets)})`, loader: 'js' }
    })
  },
})
