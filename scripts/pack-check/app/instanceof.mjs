import * as core from '@do-sdk/core'
import * as testing from '@do-sdk/core/testing'
import * as zod from 'zod'
import check from './instanceof-checks.cjs'

check('ESM', core, testing, zod)
