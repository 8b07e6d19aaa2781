import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests import packages by name; point those names at the sources so no build is needed to test.
const root = fileURLToPath(new URL('.', import.meta.url))
const alias = [
  { find: /^@do-sdk\/core\/testing$/, replacement: `${root}packages/core/src/testing/index.ts` },
  ...readdirSync(`${root}packages`).map((dir) => ({
    find: new RegExp(`^@do-sdk/${dir.replace('store-', 'store-')}$`),
    replacement: `${root}packages/${dir}/src/index.ts`,
  })),
]

export default defineConfig({
  resolve: { alias },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'docs/**/*.test.ts',
      'bench/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
