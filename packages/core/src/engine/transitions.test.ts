// The transitions as a table: a record and an event in, the new record and its ops out — no engine,
// no store, no clock.
import { describe, expect, it } from 'vitest'
import { keys, workflowOfIndexKey } from './keys.js'
import type { RunRecord } from './records.js'
import {
  batchOf,
  cascaded,
  claimed,
  created,
  deferred,
  deleting,
  ended,
  redebounced,
  released,
  removedOps,
  renewed,
  retried,
  signalOps,
  suspended,
  type TransitionContext,
} from './transitions.js'

const T0 = 1_000_000
const ctx = (now = T0, engineId = 'e1'): TransitionContext => ({ now, engineId, leaseMs: 5_000, retentionMs: 60_000 })
const fields = { id: 'r1', workflowId: 'wf', workflowVersion: '1', input: { a: 1 }, state: {}, nonce: 'n1' }
const base = (over: Partial<RunRecord> = {}): RunRecord => ({ ...created(fields, ctx(), false).record, ...over })
const ix = (status: string) => [keys.index.byWorkflowStatus('wf', status, T0, 'r1')]
const shape = (c: { put: { op: string; key: string; value?: string }[]; drop: { op: string; key: string }[] }) => ({
  put: c.put.map((o) => `${o.op} ${o.key}${o.value ? `=${o.value}` : ''}`),
  drop: c.drop.map((o) => `${o.op} ${o.key}`),
})

describe('transitions', () => {
  const running = () => claimed(base(), ctx()).record
  const cases: { name: string; run: () => ReturnType<typeof claimed>; record: Partial<RunRecord>; put: string[]; drop: string[] }[] = [
    {
      name: 'created here: running, leased, due at the lease expiry, indexed',
      run: () => created(fields, ctx(), true),
      record: { status: 'running', owner: 'e1', leaseUntil: T0 + 5_000, dueKey: keys.due(T0 + 5_000, 'r1') },
      put: [`set ${keys.due(T0 + 5_000, 'r1')}=run`, ...ix('running').map((k) => `set ${k}`)],
      drop: [],
    },
    {
      name: 'created for others: pending, due now',
      run: () => created(fields, ctx(), false),
      record: { status: 'pending', owner: undefined, dueKey: keys.due(T0, 'r1') },
      put: [`set ${keys.due(T0, 'r1')}=run`, ...ix('pending').map((k) => `set ${k}`)],
      drop: [],
    },
    {
      name: 'claimed: running here, the due entry moves to the lease expiry, a stray hint is dropped',
      run: () => claimed(base(), ctx(T0 + 10, 'e2'), keys.due(T0 + 3, 'r1')),
      record: { status: 'running', owner: 'e2', leaseUntil: T0 + 5_010, dueKey: keys.due(T0 + 5_010, 'r1') },
      put: [`set ${keys.due(T0 + 5_010, 'r1')}=run`, ...ix('running').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0, 'r1')}`, ...ix('pending').map((k) => `delete ${k}`), `delete ${keys.due(T0 + 3, 'r1')}`],
    },
    {
      name: 'renewed: the lease and its due entry move; the status and indexes stay',
      run: () => renewed(running(), ctx(T0 + 2_000)),
      record: { status: 'running', leaseUntil: T0 + 7_000, dueKey: keys.due(T0 + 7_000, 'r1') },
      put: [`set ${keys.due(T0 + 7_000, 'r1')}=run`],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`],
    },
    {
      name: 'suspended on a timer: sleeping, not leased, due at the wake-up',
      run: () => suspended(running(), ctx(T0 + 100), T0 + 60_000, []),
      record: { status: 'sleeping', owner: undefined, leaseUntil: undefined, wakeAt: T0 + 60_000, dueKey: keys.due(T0 + 60_000, 'r1') },
      put: [`set ${keys.due(T0 + 60_000, 'r1')}=run`, ...ix('sleeping').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`)],
    },
    {
      name: 'suspended on a signal without deadline: waiting, no due entry at all',
      run: () => suspended(running(), ctx(T0 + 100), undefined, ['approve']),
      record: { status: 'waiting', waitingFor: ['approve'], dueKey: undefined },
      put: ix('waiting').map((k) => `set ${k}`),
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`)],
    },
    {
      name: 'released (engine stopping): pending, due now',
      run: () => released(running(), ctx(T0 + 100)),
      record: { status: 'pending', owner: undefined, dueKey: keys.due(T0 + 100, 'r1') },
      put: [`set ${keys.due(T0 + 100, 'r1')}=run`, ...ix('pending').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`)],
    },
    {
      name: 'ended: terminal, removed after retention',
      run: () => ended(running(), ctx(T0 + 100), { status: 'completed', output: 42 }),
      record: { status: 'completed', output: 42, finishedAt: T0 + 100, expiresAt: T0 + 60_100, dueKey: keys.due(T0 + 60_100, 'r1') },
      put: [`set ${keys.due(T0 + 60_100, 'r1')}=gc`, ...ix('completed').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`)],
    },
    {
      name: 'cancelled with children: a cascade entry now, retention after it',
      run: () => ended(running(), ctx(T0 + 100), { status: 'cancelled', cascade: true }),
      record: { status: 'cancelled', dueKey: keys.due(T0 + 100, 'r1') },
      put: [`set ${keys.due(T0 + 100, 'r1')}=cascade`, ...ix('cancelled').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`)],
    },
    {
      name: 'retried: a new generation from the failure that ended it, pending, due now',
      run: () =>
        retried(
          ended(running(), ctx(T0 + 100), { status: 'failed', error: { name: 'E', message: 'x' }, failedSeq: 3 }).record,
          ctx(T0 + 200),
        ),
      record: {
        status: 'pending',
        generation: 1,
        retryFromSeq: 3,
        error: undefined,
        finishedAt: undefined,
        dueKey: keys.due(T0 + 200, 'r1'),
      },
      put: [`set ${keys.due(T0 + 200, 'r1')}=run`, ...ix('pending').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 60_100, 'r1')}`, ...ix('failed').map((k) => `delete ${k}`)],
    },
  ]
  // Concurrency slots: taken in the claim (compare-and-set, before the record), let go with every way a run stops executing.
  const S0 = 'slot/wf/0.u1/00000'
  const S1 = 'slot/wf/1./00002'
  const holding = () =>
    claimed(base(), ctx(), undefined, [
      { key: S0, version: 0 },
      { key: S1, version: 4 },
    ]).record
  cases.push(
    {
      name: 'claimed with slots: each slot set to the run id if its version holds, before the record; the record lists them',
      run: () =>
        claimed(base(), ctx(), undefined, [
          { key: S0, version: 0 },
          { key: S1, version: 4 },
        ]),
      record: { status: 'running', slots: [S0, S1] },
      put: [`set ${S0}=r1`, `set ${S1}=r1`, `set ${keys.due(T0 + 5_000, 'r1')}=run`, ...ix('running').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0, 'r1')}`, ...ix('pending').map((k) => `delete ${k}`)],
    },
    {
      name: 'suspended: the slots are deleted after the record',
      run: () => suspended(holding(), ctx(T0 + 100), T0 + 60_000, []),
      record: { status: 'sleeping', slots: undefined },
      put: [`set ${keys.due(T0 + 60_000, 'r1')}=run`, ...ix('sleeping').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`), `delete ${S0}`, `delete ${S1}`],
    },
    {
      name: 'ended: the slots go with the end',
      run: () => ended(holding(), ctx(T0 + 100), { status: 'completed', output: 1 }),
      record: { status: 'completed', slots: undefined },
      put: [`set ${keys.due(T0 + 60_100, 'r1')}=gc`, ...ix('completed').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`), `delete ${S0}`, `delete ${S1}`],
    },
    {
      name: 'released (engine stopping): the slots go too',
      run: () => released(holding(), ctx(T0 + 100)),
      record: { status: 'pending', slots: undefined },
      put: [`set ${keys.due(T0 + 100, 'r1')}=run`, ...ix('pending').map((k) => `set ${k}`)],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, ...ix('running').map((k) => `delete ${k}`), `delete ${S0}`, `delete ${S1}`],
    },
    {
      name: 're-claimed after a takeover: the slot it holds is rewritten, one it no longer needs is deleted',
      run: () => claimed(holding(), ctx(T0 + 6_000, 'e2'), undefined, [{ key: S0, version: 1 }]),
      record: { owner: 'e2', slots: [S0] },
      put: [`set ${S0}=r1`, `set ${keys.due(T0 + 11_000, 'r1')}=run`],
      drop: [`delete ${keys.due(T0 + 5_000, 'r1')}`, `delete ${S1}`],
    },
    {
      name: 'deferred (every slot taken): pending with the reason, due when it looks again',
      run: () => deferred(base(), ctx(T0 + 10), { kind: 'concurrency', key: 'u1', limit: 1, until: T0 + 1_010 }),
      record: {
        status: 'pending',
        pendingReason: { kind: 'concurrency', key: 'u1', limit: 1, until: T0 + 1_010 },
        dueKey: keys.due(T0 + 1_010, 'r1'),
      },
      put: [`set ${keys.due(T0 + 1_010, 'r1')}=run`],
      drop: [`delete ${keys.due(T0, 'r1')}`],
    },
    {
      name: 'redebounced: a waiting run takes the new input and its start moves',
      run: () => redebounced(base(), ctx(T0 + 10), { a: 2 }, { kind: 'debounce', key: 'k', until: T0 + 30_010 }),
      record: { status: 'pending', input: { a: 2 }, dueKey: keys.due(T0 + 30_010, 'r1') },
      put: [`set ${keys.due(T0 + 30_010, 'r1')}=run`],
      drop: [`delete ${keys.due(T0, 'r1')}`],
    },
    {
      name: 'created held back (throttle, debounce): pending, due at its turn, with the reason',
      run: () =>
        created({ ...fields, pendingReason: { kind: 'throttle', key: '', limit: 2, until: T0 + 60_000 } }, ctx(), false, T0 + 60_000),
      record: {
        status: 'pending',
        dueKey: keys.due(T0 + 60_000, 'r1'),
        pendingReason: { kind: 'throttle', key: '', limit: 2, until: T0 + 60_000 },
      },
      put: [`set ${keys.due(T0 + 60_000, 'r1')}=run`, ...ix('pending').map((k) => `set ${k}`)],
      drop: [],
    },
  )
  for (const c of cases) {
    it(c.name, () => {
      const out = c.run()
      for (const [k, v] of Object.entries(c.record)) expect({ [k]: out.record[k as keyof RunRecord] }).toEqual({ [k]: v })
      expect(shape(out)).toEqual({ put: c.put, drop: c.drop })
    })
  }

  it('a cascade becomes retention; deleting marks the record; removal drops its due and index entries', () => {
    const cancelled = ended(running(), ctx(T0 + 100), { status: 'cancelled', cascade: true }).record
    expect(shape(cascaded(cancelled))).toEqual({
      put: [`set ${keys.due(T0 + 60_100, 'r1')}=gc`],
      drop: [`delete ${keys.due(T0 + 100, 'r1')}`],
    })
    const marked = deleting(cascaded(cancelled).record)
    expect(marked.record.deleting).toBe(true)
    expect(shape(marked)).toEqual({ put: [], drop: [] })
    expect(removedOps(marked.record).map((o) => o.key)).toEqual([keys.due(T0 + 60_100, 'r1'), ...ix('cancelled')])
  })

  it('applies in the one order: new data, extra ops (journal), the record (conditional), deletions', () => {
    const c = suspended(running(), ctx(T0 + 100), T0 + 60_000, [])
    const journal = { op: 'set' as const, key: 'jrn/r1!n1/00000001', value: '{}' }
    const ops = batchOf(c, 'RECORD', 7, [journal])
    expect(ops.map((o) => `${o.op} ${o.key.split('/')[0]}`)).toEqual(['set due', 'set ix', 'set jrn', 'set run', 'delete due', 'delete ix'])
    expect(ops.find((o) => o.key === 'run/r1')).toEqual({ op: 'set', key: 'run/r1', value: 'RECORD', ifVersion: 7 })
  })

  it('a signal is the signal itself and a blind write of the inbox marker', () => {
    expect(signalOps('r1', 'n1', T0, 3, 'e1.x', 'PAYLOAD')).toEqual([
      { op: 'set', key: keys.signal('r1', 'n1', T0, 3, 'e1.x'), value: 'PAYLOAD' },
      { op: 'set', key: 'inbox/r1', value: '' },
    ])
  })

  it('never changes the record it is given', () => {
    const before = running()
    const copy = structuredClone(before)
    suspended(before, ctx(T0 + 1), T0 + 10, [])
    ended(before, ctx(T0 + 1), { status: 'failed' })
    renewed(before, ctx(T0 + 1))
    expect(before).toEqual(copy)
  })
})

describe('the run index', () => {
  it('one entry per run, by workflow and status; a "/" in a workflow id cannot reach another workflow', () => {
    expect(keys.index.byWorkflowStatus('billing/eu', 'failed', T0, 'r1')).toBe(`ix/ws/billing|eu/failed/${keys.index.timeBound('', T0)}/r1`)
    expect(keys.index.workflowAll('billing')).toBe('ix/ws/billing/')
    expect(keys.index.byWorkflowStatus('billing/eu', 'failed', T0, 'r1').startsWith(keys.index.workflowAll('billing'))).toBe(false)
    expect(workflowOfIndexKey(keys.index.byWorkflowStatus('billing/eu', 'failed', T0, 'a/b'))).toBe('billing/eu')
  })
})
