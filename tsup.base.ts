import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Options } from 'tsup'

/** Per-package build settings beyond the entry points. */
export interface BuildOptions {
  /**
   * ESM-only dependencies to bundle into the CommonJS output (with their own dependencies), so that
   * `require()` works without Node's require(esm) (absent before Node 20.19 and in Jest). The ESM
   * output keeps importing them from node_modules, as normal dependencies. Each must be MIT-style
   * licensed: its license text is copied to `dist/THIRD-PARTY-LICENSES.md`, which ships in the tarball.
   */
  cjsBundle?: string[]
}

/**
 * Shared tsup settings: dual ESM + CJS with .d.ts/.d.cts beside each, for Node 20. One config per
 * format, because tsup's `noExternal` applies to every format of a config and `cjsBundle` must stay
 * external in the ESM build; and a third for the declarations of both formats, built once in one
 * TypeScript program (a dts build per config took twice as long).
 *
 * - `splitting: true` for both formats: code shared by several entries (`@do-sdk/core` and
 *   `@do-sdk/core/testing`) goes into shared chunks, so each format holds one copy of every class
 *   and `instanceof` works across entry points. We chose this over making the testing entry import
 *   `@do-sdk/core` by name because the testing entry uses internals (the virtual clock, the crash
 *   hook) that the public entry does not export, and shared chunks need no change to the sources.
 *   tsup turns the ESM chunks into CJS with rollup (`treeshake`), one chunk at a time.
 * - No `keepNames`: it wraps every function expression in a `__name()` call at run time, which
 *   cost about 15% of the engine's throughput on the memory store (`pnpm bench`, profiled). Class
 *   names stay as written as long as no class body names its own class (esbuild then emits
 *   `class _X`) and no two bundled classes share a name; pack-check asserts the `name` of every
 *   exported class in both builds.
 * - No source maps in the package: the output is not minified (stack traces are readable as they
 *   are), and maps with the sources inlined were two thirds of the core tarball.
 */
export const baseConfig = (entry: Record<string, string> | string[], { cjsBundle = [] }: BuildOptions = {}): Options[] => {
  // tsup builds the three configs concurrently and each config's `clean` would race with the others'
  // output, so the output folder is emptied once, here, when tsup loads the config.
  rmSync('dist', { recursive: true, force: true })
  const common: Options = {
    entry,
    sourcemap: false,
    clean: false,
    target: 'node20',
    splitting: true,
    treeshake: true,
  }
  return [
    { ...common, format: ['esm'] },
    { ...common, format: ['esm', 'cjs'], dts: { only: true } },
    {
      ...common,
      format: ['cjs'],
      noExternal: cjsBundle,
      onSuccess: cjsBundle.length > 0 ? async () => writeLicenses(cjsBundle) : undefined,
    },
  ]
}

const resolveFrom = (dir: string, name: string) => createRequire(join(dir, 'package.json')).resolve(name)

/** The directory of an installed package (the nearest package.json above its resolved entry file). */
const packageDir = (fromDir: string, name: string) => {
  let dir = dirname(resolveFrom(fromDir, name))
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === name) return dir
    } catch {}
    const up = dirname(dir)
    if (up === dir) throw new Error(`[do-sdk build] cannot find the package.json of "${name}"`)
    dir = up
  }
}

/** Writes the license of every bundled package and of its dependencies (bundled with it) to dist/. */
const writeLicenses = (names: string[]) => {
  const seen = new Map<string, string>()
  const visit = (fromDir: string, name: string) => {
    if (seen.has(name)) return
    const dir = packageDir(fromDir, name)
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    if (!/^(MIT|ISC|BSD-2-Clause|BSD-3-Clause|Apache-2.0)$/.test(pkg.license ?? '')) {
      throw new Error(`[do-sdk build] cannot bundle "${name}": its license is "${pkg.license}", not one this build knows to allow bundling`)
    }
    const file = ['license', 'LICENSE', 'LICENSE.md', 'license.md'].map((f) => join(dir, f)).find((f) => existsSync(f))
    if (!file) throw new Error(`[do-sdk build] "${name}" has no license file to ship with the bundled copy`)
    seen.set(name, `## ${name}@${pkg.version} (${pkg.license})\n\n${readFileSync(file, 'utf8').trim()}\n`)
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dir, dep)
  }
  for (const name of names) visit(process.cwd(), name)
  const header = '# Third-party licenses\n\nThe CommonJS build (`dist/*.cjs`) bundles these packages.\n'
  writeFileSync(join('dist', 'THIRD-PARTY-LICENSES.md'), [header, ...seen.values()].join('\n'))
}
