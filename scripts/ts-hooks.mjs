// Node module hooks that run this monorepo's TypeScript sources in a plain child process (the
// multi-process and crash tests SIGKILL and SIGSTOP real processes): `@do-sdk/<pkg>` resolves to
// packages/<pkg>/src (no build needed), `./x.js` imported from a .ts file to `./x.ts`, and .ts files
// are transpiled by the esbuild that vitest already brings (vitest -> vite -> esbuild).
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const viaVitest = createRequire(createRequire(import.meta.url).resolve('vitest/package.json'))
const { transform } = createRequire(viaVitest.resolve('vite/package.json'))('esbuild')

const packagesDir = new URL('../packages/', import.meta.url)

export async function resolve(specifier, context, next) {
  const pkg = /^@do-sdk\/([a-z0-9-]+)(\/testing)?$/.exec(specifier)
  if (pkg) {
    const file = new URL(`${pkg[1]}/src/${pkg[2] ? 'testing/index.ts' : 'index.ts'}`, packagesDir)
    if (existsSync(file)) return { url: file.href, shortCircuit: true }
  }
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const file = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL)
    if (existsSync(file)) return { url: file.href, shortCircuit: true }
  }
  return next(specifier, context)
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context)
  const sourcefile = fileURLToPath(url)
  const { code } = await transform(await readFile(sourcefile, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20', sourcefile })
  return { format: 'module', source: code, shortCircuit: true }
}
