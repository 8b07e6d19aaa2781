import { virtualClock } from '../src/engine/clock.js'
import { EngineImpl } from '../src/engine/engine.js'
import type { RunStatus } from '../src/engine/records.js'
import { silentLogger } from '../src/logger.js'
import { type Faults, NO_FAULTS, SimBackend } from './backend.js'
import { Prng } from './prng.js'
import { Ledger, type SimEnv, simWorkflows } from './workflows.js'

/** One seed's scenario, and whether the store misbehaves while it plays. */
export interface SimOptions {
  seed: number
  faults: boolean
  /** Scenario events (user actions and time steps) before the healing phase. @default 120 */
  events?: number
  trace?: (line: string) => void
}

/** How one run ended. */
export interface RunEnd {
  status: RunStatus
  output?: unknown
  code?: string
}

export interface SimResult {
  ends: Map<string, RunEnd>
  /** Runs someone asked to cancel (their outcome depends on timing; not compared). */
  cancelled: Set<string>
  violations: string[]
  attempts: number
}

type Planned = {
  id: string
  kind: 'fanout' | 'approvals' | 'parent' | 'repair'
  input: unknown
  signals: { name: string; payload: unknown }[]
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])
const drain = async (turns = 3) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r))
}

/** The runs a seed plays, drawn from the scenario stream only (the same with and without faults). */
const plan = (p: Prng, count: number): Planned[] =>
  Array.from({ length: count }, (_, i): Planned => {
    const kind = p.pick(['fanout', 'fanout', 'approvals', 'approvals', 'parent', 'repair'] as const)
    const id = `${kind}-${i}`
    if (kind === 'fanout') {
      const n = p.int(1, 4)
      const items = Array.from({ length: n }, () => p.int(1, 9))
      return {
        id,
        kind,
        input: {
          items,
          ms: items.map(() => p.int(1, 40)),
          flaky: items.map(() => (p.chance(0.3) ? p.int(1, 3) : 0)),
          sleepMs: p.int(0, 500),
        },
        signals: [],
      }
    }
    if (kind === 'approvals') {
      const rounds = p.int(1, 3)
      const signals = Array.from({ length: rounds }, (_, n) => ({ name: p.chance(0.5) ? 'approve' : 'reject', payload: { n } }))
      if (p.chance(0.3)) signals.splice(p.int(0, signals.length), 0, { name: p.chance(0.5) ? 'approve' : 'reject', payload: { n: 99 } })
      signals.push({ name: 'done', payload: { n: 7 } })
      return { id, kind, input: { rounds }, signals }
    }
    if (kind === 'parent') return { id, kind, input: { items: Array.from({ length: p.int(1, 3) }, () => p.int(1, 9)) }, signals: [] }
    return { id, kind, input: undefined, signals: [] }
  })

/**
 * Plays one seed: several real engines on one shared store (faulty or not), a scenario of
 * triggers, signals and cancels on a virtual clock, and (with faults) engines killed and
 * restarted at random. Then heals (no more faults, every engine back, the bug fixed, failed runs
 * retried) and checks that every run ended. Violations are collected, never thrown.
 */
export const simulate = async (options: SimOptions): Promise<SimResult> => {
  const trace = options.trace ?? (() => {})
  const scenario = new Prng(options.seed)
  const chaos = new Prng(options.seed ^ 0x5bd1e995)
  const clock = virtualClock(Date.UTC(2030, 0, 1))
  const multi = !scenario.chance(0.25)
  const faults: Faults = options.faults
    ? { fail: 0.03, ambiguous: 0.02, delay: 0.2, maxDelayMs: 400, nonAtomic: !multi, dieInBatch: multi ? 0 : 0.02 }
    : { ...NO_FAULTS, nonAtomic: !multi }
  const backend = new SimBackend(clock, faults, chaos.fork(1), trace)
  const env: SimEnv = { clock, ledger: new Ledger(backend.committed), fixed: false }
  const wfs = simWorkflows(env)
  const engineCount = multi ? 3 : 1
  const engines: (EngineImpl | undefined)[] = []
  const incarnations = new Map<number, number>()

  /** Waits for `p` while time goes on and late answers arrive (a start polls the store, whose answers may be late). */
  const pump = async <T>(p: Promise<T>): Promise<T> => {
    let done = false
    const settled = p.finally(() => {
      done = true
    })
    settled.catch(() => {}) // awaited below, after the pumping: not unhandled meanwhile
    for (let i = 0; i < 1_000 && !done; i++) {
      await drain(1)
      if (done) break
      clock.advance(10)
      backend.releaseDue()
    }
    return settled
  }

  const startEngine = async (i: number) => {
    const n = (incarnations.get(i) ?? 0) + 1
    incarnations.set(i, n)
    const ids = new Prng(options.seed * 31 + i * 7 + n)
    let engine!: EngineImpl
    const caller = {
      name: `e${i}.${n}`,
      kill: () => {
        engine.kill()
        if (engines[i] === engine) engines[i] = undefined
      },
    }
    engine = new EngineImpl({
      store: backend.view(caller, multi),
      workflows: wfs.all,
      clock,
      engineId: `e${i}`,
      multiProcess: multi,
      lease: 1_000,
      pollInterval: 100,
      inlineRetry: 20,
      retention: '1h',
      logger: silentLogger,
      keepAlive: false,
      random: { uuid: () => ids.uuid() },
    })
    engines[i] = engine
    if (options.trace) {
      const name = caller.name
      engine.hooks.on('workflow:suspend', (e) => trace(`${name} ${e.runId} suspends ${e.status} ${e.waitingFor?.join(',') ?? ''}`))
      engine.hooks.on('workflow:resume', (e) => trace(`${name} ${e.runId} resumes`))
      engine.hooks.on('workflow:start', (e) => trace(`${name} ${e.runId} starts`))
      engine.hooks.on('signal:receive', (e) => trace(`${name} ${e.runId} receives ${e.name}`))
      engine.hooks.on('error', (e) => trace(`${name} ${e.runId ?? ''} error ${e.error.message}`))
    }
    try {
      await pump(engine.start())
      trace(`start ${caller.name}`)
    } catch (error) {
      trace(`start ${caller.name} failed: ${String(error)}`)
      engine.kill()
      engines[i] = undefined
    }
  }
  const kill = (i: number) => {
    const e = engines[i]
    if (!e) return
    trace(`kill e${i}`)
    e.kill()
    engines[i] = undefined
  }

  // User actions go through their own engine (never started) on a perfect connection: what a user
  // asked for is not in doubt, only what the engines do with it.
  const client = new EngineImpl({
    store: backend.view({ name: 'client', kill: () => {} }, true, true),
    workflows: wfs.all,
    clock,
    engineId: 'client',
    multiProcess: true,
    logger: silentLogger,
    keepAlive: false,
    random: { uuid: () => scenario.fork(77).uuid() },
  })
  const asClient = <T>(fn: () => Promise<T>): Promise<T> => fn()

  for (let i = 0; i < engineCount; i++) await startEngine(i)
  const runs = plan(scenario, scenario.int(3, 8))
  const triggered: Planned[] = []
  const sent = new Map<string, number>()
  const cancelled = new Set<string>()
  const cancels: { id: string; settled: boolean }[] = []
  const violations: string[] = []

  const sendNext = async (run: Planned) => {
    const k = sent.get(run.id) ?? 0
    const s = run.signals[k]
    if (!s) return
    sent.set(run.id, k + 1)
    trace(`signal ${run.id} ${s.name}`)
    await asClient(() => client.signal(run.id, s.name, s.payload))
  }

  const events = options.events ?? 120
  for (let step = 0; step < events; step++) {
    const roll = scenario.next()
    if (roll < 0.45) clock.advance(scenario.int(1, 150))
    else if (roll < 0.6 && triggered.length < runs.length) {
      const run = runs[triggered.length] as Planned
      triggered.push(run)
      trace(`trigger ${run.id}`)
      await asClient(() => client.trigger(wfs[run.kind] as never, run.input as never, { id: run.id }))
    } else if (roll < 0.85 && triggered.length) await sendNext(scenario.pick(triggered))
    else if (roll < 0.88 && triggered.length) {
      const run = scenario.pick(triggered)
      cancelled.add(run.id)
      const c = { id: run.id, settled: false }
      cancels.push(c)
      trace(`cancel ${run.id}`)
      void asClient(() => client.cancel(run.id, 'sim')).then(
        () => (c.settled = true),
        (e) => {
          c.settled = true
          violations.push(`cancel of ${run.id} failed: ${String(e)}`)
        },
      )
    }
    if (options.faults) {
      const r = chaos.next()
      const dead = engines.findIndex((e) => e === undefined)
      if (r < 0.04) kill(chaos.int(0, engineCount - 1))
      else if (r < 0.12 && dead >= 0) await startEngine(dead)
    }
    await drain()
    backend.releaseDue()
    await drain()
  }

  // Heal: a perfect store, every engine back, the bug fixed, every signal sent, failed repairs retried.
  backend.faults = { ...NO_FAULTS, nonAtomic: faults.nonAtomic }
  backend.releaseDue(true)
  await drain()
  for (let i = 0; i < engineCount; i++) if (!engines[i]) await startEngine(i)
  env.fixed = true
  for (const run of runs)
    if (!triggered.includes(run)) {
      triggered.push(run)
      await client.trigger(wfs[run.kind] as never, run.input as never, { id: run.id })
    }
  for (const run of triggered) while ((sent.get(run.id) ?? 0) < run.signals.length) await sendNext(run)
  const retried = new Set<string>()
  const ends = new Map<string, RunEnd>()
  for (let round = 0; round < 400; round++) {
    clock.advance(100)
    await drain()
    backend.releaseDue(true)
    await drain()
    if (round % 20 !== 19) continue
    const all = await client.listRuns({ limit: 1000 })
    let retrying = false
    for (const r of all.runs) {
      if (r.status === 'failed' && r.workflowId === 'repair' && !retried.has(r.id)) {
        retried.add(r.id)
        retrying = true
        trace(`retry ${r.id}`)
        await client.retry(r.id)
      }
    }
    if (!retrying && all.runs.length >= runs.length && all.runs.every((r) => TERMINAL.has(r.status))) break
  }
  for (const r of (await client.listRuns({ limit: 1000 })).runs) {
    ends.set(r.id, { status: r.status, output: r.output, code: r.error?.code })
    if (!TERMINAL.has(r.status)) {
      const due = (await backend.inner.list('due/')).filter((e) => e.key.endsWith(`/${r.id}`)).map((e) => `${e.key}=${e.value}`)
      const raw = JSON.parse((await backend.inner.get(`run/${r.id}`))?.value ?? '{}') as { dueKey?: string; leaseUntil?: number }
      violations.push(
        `run ${r.id} is stranded: ${r.status} after healing (waiting for ${r.waitingFor ?? '-'}, owner ${r.owner ?? '-'}, lease until ${raw.leaseUntil ?? '-'}, due ${raw.dueKey ?? '-'}, due entries ${due.join(' ') || 'none'}, now ${clock.now()})`,
      )
    }
    if (r.error?.code === 'ERR_NON_DETERMINISM') violations.push(`run ${r.id} failed with a NonDeterminismError: ${r.error.message}`)
  }
  for (const run of runs) if (!ends.has(run.id)) violations.push(`run ${run.id} was triggered but is missing`)
  for (const c of cancels) if (!c.settled) violations.push(`engine.cancel("${c.id}") never settled`)
  for (const e of engines) e?.kill()
  return { ends, cancelled, violations: [...env.ledger.violations, ...violations], attempts: env.ledger.attempts }
}
