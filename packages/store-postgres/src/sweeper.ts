/** Statements one sweep round runs at most: a round deletes at most 10 × the batch size rows. */
const MAX_STATEMENTS = 10

/**
 * Deletes expired rows every `intervalMs` (an unref'd timer: it never keeps the process alive),
 * `batchSize` rows per statement, until a statement deletes fewer or the round has run
 * {@link MAX_STATEMENTS}. Each statement skips rows other transactions hold (`SKIP LOCKED`), so a
 * sweep never waits for, or deadlocks with, a batch; several processes may sweep at once. Errors
 * are dropped: the next round tries again. `stop()` clears the timer and waits for a running round.
 */
export const startSweeper = (intervalMs: number, batchSize: number, sweep: (limit: number) => Promise<number>) => {
  let round: Promise<void> | undefined
  let stopped = false
  const run = async () => {
    for (let i = 0; i < MAX_STATEMENTS && !stopped; i++) {
      if ((await sweep(batchSize)) < batchSize) break
    }
  }
  const timer = setInterval(() => {
    round ??= run()
      .catch(() => {})
      .finally(() => {
        round = undefined
      })
  }, intervalMs)
  timer.unref()
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await round
    },
  }
}
