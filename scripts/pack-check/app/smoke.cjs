// CJS smoke: run with `node --no-experimental-require-module`, as Node < 20.19 and Jest load
// CommonJS: a require() that reaches an ESM-only file fails with ERR_REQUIRE_ESM.
'use strict'
const smoke = require('./smoke-checks.cjs')

const entries = JSON.parse(process.argv[2])
smoke('CJS', entries, async (spec) => require(spec)).catch((error) => {
  console.error(error)
  process.exit(1)
})
