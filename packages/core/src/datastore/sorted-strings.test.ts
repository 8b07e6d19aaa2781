import { expect, it } from 'vitest'
import { SortedStrings } from './sorted-strings.js'

it('keeps keys sorted across chunk splits and merges, walking from any bound both ways', () => {
  const s = new SortedStrings()
  const keys = Array.from({ length: 5_000 }, (_, i) => `k${String((i * 7919) % 5_000).padStart(5, '0')}`)
  for (const k of keys) s.insert(k)
  const sorted = [...keys].sort()
  expect([...s.from('', false)]).toEqual(sorted)
  expect([...s.before(undefined)]).toEqual([...sorted].reverse())
  expect([...s.from('k02500', true)].slice(0, 2)).toEqual(['k02501', 'k02502'])
  expect([...s.from('k02500', false)][0]).toBe('k02500')
  expect([...s.before('k00003')]).toEqual(['k00002', 'k00001', 'k00000'])
  for (const k of keys.filter((_, i) => i % 3 !== 0)) s.remove(k)
  const left = sorted.filter((k) => keys.indexOf(k) % 3 === 0)
  expect([...s.from('', false)]).toEqual(left)
  expect([...s.before('zzz')]).toEqual([...left].reverse())
  for (const k of left) s.remove(k)
  expect([...s.from('', false)]).toEqual([])
  expect([...s.before(undefined)]).toEqual([])
})
