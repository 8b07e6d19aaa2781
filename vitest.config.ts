import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests import packages by name; point those names at the sources so no build is needed to test.
const root = fileURLToPath(new URL('.', import.meta.url))
const alias = [
  { find: /^@do-sdk\/core\/testing$/, replacement: `${root}packages/core/src/testing/index.ts` },
  ...readdirSync(`${root}packages`).map((dir) => ({
    find: new RegExp(`^@do-sdk/${dir}$`),
    replacement: `${root}packages/${dir}/src/index.ts`,
  })),
]

const engineSuite = ['packages/core/test/engine/*.test.ts']

/** The engine suite again on another adapter (memory runs it in the main project). */
const engineOn = (store: 'keyv' | 'sqlite' | 'redis') => ({
  extends: true as const,
  test: {
    name: `engine-on-${store}`,
    include: engineSuite,
    setupFiles: ['packages/core/test/engine/setup-store.ts'],
    env: { DO_SDK_ENGINE_STORE: store },
    ...(store === 'redis' ? { globalSetup: ['packages/core/test/engine/redis-global-setup.ts'] } : {}),
  },
})

/** The engine suite on PostgreSQL: one throwaway cluster for the project, a namespace per test. */
const engineOnPostgres = () => ({
  extends: true as const,
  test: {
    name: 'engine-on-postgres',
    include: engineSuite,
    setupFiles: ['packages/core/test/engine/setup-store.ts'],
    env: { DO_SDK_ENGINE_STORE: 'postgres' },
    globalSetup: ['packages/core/test/engine/postgres-global-setup.ts'],
  },
})

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'packages/*/test/**/*.test.ts',
            'examples/*/test/**/*.test.ts',
            'docs/**/*.test.ts',
            'bench/test/**/*.test.ts',
          ],
        },
      },
      engineOn('keyv'),
      engineOn('sqlite'),
      engineOn('redis'),
      engineOnPostgres(),
    ],
  },
})
