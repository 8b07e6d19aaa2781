import { expect, it, vi } from 'vitest'

it('runs the seed example verbatim', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  const { result } = await import('./fixtures/seed-example.js')
  expect(result).toEqual({ success: true, messageId: 'xyz-123' })
  expect(log).toHaveBeenCalledWith('Sending welcome email to Jane Doe at jane.doe@example.com...')
  log.mockRestore()
})
