// The bench commands' flags.
import { expect, it } from 'vitest'
import { cliArgs } from '../src/cli.js'

it('reads flags, options and lists, and nothing from a flag of a longer name', () => {
  const { flag, option, list } = cliArgs(['--smoke', '--reps=5', '--only=a,b,', '--smoke-x'])
  expect([flag('smoke'), flag('json'), flag('reps')]).toEqual([true, false, false])
  expect([option('reps'), option('rep'), option('smoke')]).toEqual(['5', undefined, undefined])
  expect(list('only')).toEqual(['a', 'b'])
  expect(list('parts')).toBeUndefined()
})
