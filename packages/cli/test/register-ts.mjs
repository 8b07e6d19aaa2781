// `node --import ./register-ts.mjs ../src/bin.ts …`: runs the CLI's TypeScript and the monorepo's
// package sources it imports in a plain child process (scripts/ts-hooks.mjs), plus a test hook that
// hides packages named in DO_SDK_CLI_HIDE, as when they are not installed (hide-packages.mjs).
import { register } from 'node:module'

register('../../../scripts/ts-hooks.mjs', import.meta.url)
// Registered last, so it runs first.
register('./hide-packages.mjs', import.meta.url)
