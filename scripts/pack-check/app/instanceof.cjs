// Run with `node --no-experimental-require-module`.
'use strict'
require('./instanceof-checks.cjs')('CJS', require('@do-sdk/core'), require('@do-sdk/core/testing'), require('zod'))
