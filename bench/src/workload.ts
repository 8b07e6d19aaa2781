// The workload of issue 8: a workflow of 3 sequential steps, each returning a small JSON object.
import { workflow } from '@do-sdk/core'

export const s1 = () => ({ i: 1 })
export const s2 = () => ({ i: 2 })
export const s3 = () => ({ i: 3 })

/** The do-sdk version of the workload. */
export const threeSteps = workflow.create({
  id: 'bench-three-steps',
  run: async ({ step }) => {
    const a = await step.run('s1', s1)
    const b = await step.run('s2', s2)
    const c = await step.run('s3', s3)
    return { a, b, c }
  },
})

/** One workflow of the system under test, trigger → result; `close` releases what `open` made. */
export interface Subject {
  run(i: number): Promise<unknown>
  close(): Promise<void>
}

/** Where a subject may put things: a temp dir of its own and the bench's Redis. */
export interface SubjectContext {
  dir: string
  redisUrl?: string
}

export type SubjectFactory = (ctx: SubjectContext) => Promise<Subject>

export const needRedis = (ctx: SubjectContext): string => {
  if (!ctx.redisUrl) throw new Error('this subject needs Redis (redis-server not started)')
  return ctx.redisUrl
}
