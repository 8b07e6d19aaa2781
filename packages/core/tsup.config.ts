import { defineConfig } from 'tsup'
import { baseConfig } from '../../tsup.base'

// p-retry 7 is ESM-only: bundled into the CJS build so that require('@do-sdk/core') works on every Node 20.
export default defineConfig(baseConfig({ index: 'src/index.ts', testing: 'src/testing/index.ts' }, { cjsBundle: ['p-retry'] }))
