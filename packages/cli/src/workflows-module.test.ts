import { workflow } from '@do-sdk/core'
import { describe, expect, it } from 'vitest'
import { workflowsOf } from './workflows-module.js'

const a = workflow.create({ id: 'a', run: async () => 1 })
const b = workflow.create({ id: 'b', run: async () => 2 })
const c = workflow.create({ id: 'c', version: 2, run: async () => 3 })

describe('workflowsOf', () => {
  it('takes named exports, a default array, a "workflows" array and a CommonJS exports object, each workflow once', () => {
    expect(workflowsOf({ a, b })).toEqual([a, b])
    expect(workflowsOf({ default: [a, b, c] })).toEqual([a, b, c])
    expect(workflowsOf({ workflows: [a, c], a })).toEqual([a, c])
    expect(workflowsOf({ default: { workflows: [b], c } })).toEqual([b, c])
    expect(workflowsOf({ default: a })).toEqual([a])
  })

  it('ignores what is not a workflow', () => {
    expect(workflowsOf({ helper: () => 1, config: { id: 'x' }, list: [1, 'two'], nested: { deep: { a } } })).toEqual([])
  })
})
