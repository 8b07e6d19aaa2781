import { expect, it } from 'vitest'
import { parseDuration, toMs } from './duration.js'

it('parses durations', () => {
  expect(toMs(250)).toBe(250)
  expect(toMs('500ms')).toBe(500)
  expect(toMs('30s')).toBe(30_000)
  expect(toMs('1h30m')).toBe(5_400_000)
  expect(toMs('3d')).toBe(259_200_000)
  expect(toMs('1.5s')).toBe(1_500)
  expect(toMs('40')).toBe(40)
  expect(() => toMs('soon', 'sleep')).toThrowError(/Invalid sleep: "soon"/)
  expect(() => toMs(-1)).toThrow()
  expect(() => toMs('5x')).toThrow()
})

it('parses durations known only at run time', () => {
  expect(parseDuration('1h30m')).toBe(5_400_000)
  expect(parseDuration('1h 30m')).toBe(5_400_000)
  expect(parseDuration(' 2d ')).toBe(172_800_000)
  expect(parseDuration(250)).toBe(250)
  expect(() => parseDuration('3 dayz', 'REMINDER_DELAY')).toThrowError(/Invalid REMINDER_DELAY: "3 dayz"/)
})
