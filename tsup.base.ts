import type { Options } from 'tsup'

/** Shared tsup settings: dual ESM + CJS with .d.ts/.d.cts beside each, for Node 20. */
export const baseConfig = (entry: Record<string, string> | string[]): Options => ({
  entry,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
})
