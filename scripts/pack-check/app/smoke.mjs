// ESM smoke: every entry point by import(), the same checks as the CJS smoke, and the same names
// exported by the ESM and the CJS build of each entry point.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import smoke from './smoke-checks.cjs'

const entries = JSON.parse(process.argv[2])
const require = createRequire(import.meta.url)
for (const spec of entries) {
  const esm = Object.keys(await import(spec)).filter((k) => k !== 'default')
  const cjs = Object.keys(require(spec)).filter((k) => k !== 'default' && k !== '__esModule')
  assert.deepEqual(cjs.sort(), esm.sort(), `${spec}: the CJS build exports other names than the ESM build`)
}
await smoke('ESM', entries, (spec) => import(spec))
