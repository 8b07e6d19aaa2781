import { fileURLToPath } from 'node:url'
import type { ClientAssets } from './client-build.js'

let assets: Promise<ClientAssets> | undefined

/**
 * The compiled browser script and style sheet. The package build replaces this module with the
 * assets compiled at build time (tsup.config.ts); from the sources (the tests) they are compiled
 * with esbuild on first use.
 */
export const clientAssets = (): Promise<ClientAssets> => {
  assets ??= import('./client-build.js').then((m) => m.buildClient(fileURLToPath(new URL('./client/', import.meta.url))))
  return assets
}
