// `node --import ./sim/register.mjs sim/run.ts`: runs the simulation's TypeScript (see scripts/ts-hooks.mjs).
import { register } from 'node:module'

register('../../../scripts/ts-hooks.mjs', import.meta.url)
