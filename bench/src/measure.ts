// Timing helpers. Times are wall-clock (performance.now); a measurement is repeated and the
// median reported, so one GC pause or fsync stall does not decide a row.

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/**
 * Ratios taken repetition by repetition, `xs[i] / ys[i]` for each repetition both sides ran, as
 * `[median, min, max]` (NaN when none): the machine's drift between repetitions cancels out of each.
 */
export const pairedRatio = (xs: number[], ys: number[]): [number, number, number] => {
  const rs = xs.slice(0, ys.length).map((x, i) => x / (ys[i] as number))
  return rs.length ? [median(rs), Math.min(...rs), Math.max(...rs)] : [Number.NaN, Number.NaN, Number.NaN]
}

/** The p-th percentile (0..100) by nearest rank. */
export const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number
}

/** Mean ms per call of `n` calls of `fn`, one at a time. */
export const sequentialMs = async (fn: (i: number) => Promise<unknown>, n: number, offset = 0): Promise<number> => {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await fn(offset + i)
  return (performance.now() - t0) / n
}

/** Calls per second of `n` calls of `fn` with `concurrency` in flight at any time. */
export const throughput = async (fn: (i: number) => Promise<unknown>, n: number, concurrency: number, offset = 0): Promise<number> => {
  let next = 0
  const worker = async () => {
    while (next < n) await fn(offset + next++)
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  return n / ((performance.now() - t0) / 1000)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Forces a full GC when the process runs with --expose-gc. */
export const gc = async () => {
  const g = (globalThis as { gc?: () => void }).gc
  if (!g) return
  for (let i = 0; i < 3; i++) {
    g()
    await sleep(20)
  }
}

export const mb = (bytes: number) => Math.round((bytes / (1 << 20)) * 10) / 10
