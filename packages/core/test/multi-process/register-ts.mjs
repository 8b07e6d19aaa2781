// `node --import ./register-ts.mjs worker.ts`: runs the worker's TypeScript, and the monorepo's
// package sources it imports, in a plain child process (see scripts/ts-hooks.mjs).
import { register } from 'node:module'

register('../../../../scripts/ts-hooks.mjs', import.meta.url)
