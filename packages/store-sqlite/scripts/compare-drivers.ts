// Compares the two SQLite drivers of sqliteStore on batch throughput (the engine's hot path: one
// compare-and-set commit per step). Run: pnpm --filter @do-sdk/store-sqlite bench:drivers
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Datastore } from '@do-sdk/core'
import { type SqliteDriverName, sqliteStore } from '@do-sdk/store-sqlite'

const dir = mkdtempSync(join(tmpdir(), 'do-sqlite-bench-'))
const value = JSON.stringify({ status: 'running', state: { userId: 'usr_12345', welcomeEmailSent: true }, at: Date.now() })

/** Runs `fn` `n` times (in `parallel` concurrent loops); returns operations per second. */
const measure = async (n: number, parallel: number, fn: (i: number) => Promise<unknown>) => {
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await fn(next++)
    }),
  )
  return Math.round(n / ((performance.now() - started) / 1000))
}

/** A batch that must succeed (the benchmark would be meaningless otherwise). */
const commit = async (s: Datastore, ops: Parameters<Datastore['batch']>[0]) => {
  const result = await s.batch(ops)
  if (!result.ok) throw new Error(`unexpected conflict on ${result.conflictKey}`)
}

const scenarios: [string, (s: Datastore) => Promise<number>][] = [
  ['batch: 1 set, sequential', (s) => measure(3_000, 1, (i) => s.batch([{ op: 'set', key: `a/${i}`, value }]))],
  [
    'batch: CAS set + 3 sets (a step commit)',
    (s) =>
      measure(2_000, 1, (i) =>
        commit(s, [
          { op: 'set', key: 'run', value, ifVersion: i },
          { op: 'set', key: `step/${i}`, value },
          { op: 'set', key: `state/${i % 10}`, value },
          { op: 'set', key: `due/${i}`, value },
        ]),
      ),
  ],
  ['batch: 1 set, 8 concurrent callers', (s) => measure(3_000, 8, (i) => s.batch([{ op: 'set', key: `c/${i}`, value }]))],
  ['get, sequential', (s) => measure(10_000, 1, (i) => s.get(`a/${i % 3_000}`))],
  ['list 100 entries', (s) => measure(500, 1, () => s.list('a/', { limit: 100 }))],
]

const rows: Record<string, Record<string, number>> = {}
for (const [driver, synchronous] of [
  ['better-sqlite3', 'NORMAL'],
  ['sqlite3', 'NORMAL'],
  ['better-sqlite3', 'FULL'],
  ['sqlite3', 'FULL'],
] as [SqliteDriverName, 'NORMAL' | 'FULL'][]) {
  const column = `${driver} ${synchronous}`
  const store = sqliteStore({ path: join(dir, `${driver}-${synchronous}.db`), driver, synchronous })
  for (const [name, scenario] of scenarios) {
    rows[name] ??= {}
    ;(rows[name] as Record<string, number>)[column] = await scenario(store)
  }
  await store.close?.()
}
rmSync(dir, { recursive: true, force: true })
console.log(`Node ${process.version}, ops/s (higher is better), file in ${tmpdir()}`)
console.table(rows)
