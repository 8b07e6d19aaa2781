import type { RunDetail, RunNode, Step } from './api.js'
import { type App, runHref, type View } from './app.js'
import { fold, h, jsonBlock, rerender } from './dom.js'
import { duration, relative, TERMINAL, when } from './format.js'
import { runActions } from './run-actions.js'
import { statusBadge } from './runs-view.js'

type Run = RunDetail['run']

const field = (label: string, ...value: (Node | string | number | undefined)[]) =>
  h('div', { class: 'field' }, h('dt', null, label), h('dd', null, ...value.map((v) => (v === undefined ? '—' : v))))

const runLink = (id: string, workflowId?: string) =>
  h('a', { href: runHref(id), class: 'run-link' }, id, workflowId ? h('span', { class: 'muted' }, ` (${workflowId})`) : null)

/** The run's child runs (started by `step.invoke`), as nested lists. */
const tree = (nodes: RunNode[]): HTMLElement =>
  h(
    'ul',
    { class: 'tree' },
    nodes.map((n) =>
      h(
        'li',
        { 'data-child-id': n.id },
        n.missing ? h('span', { class: 'muted' }, `${n.id} (no longer stored)`) : runLink(n.id, n.workflowId),
        ' ',
        n.status ? statusBadge(n.status) : null,
        n.stepId ? h('span', { class: 'muted' }, ` from step ${n.stepId}`) : null,
        n.children.length ? tree(n.children) : null,
      ),
    ),
  )

/** The step's bar on the run's time line (CSSOM styles: the CSP allows no inline style attribute). */
const bar = (step: Step, start: number, end: number) => {
  const span = Math.max(1, end - start)
  const stepEnd = step.completedAt ?? (TERMINAL.has(step.status) ? step.startedAt : end)
  const el = h('span', { class: `bar bar-${step.status}` })
  el.style.left = `${(Math.max(0, step.startedAt - start) / span) * 100}%`
  el.style.width = `${Math.max(0.5, ((stepEnd - step.startedAt) / span) * 100)}%`
  return h('div', { class: 'track' }, el)
}

const stepDetails = (run: Run, step: Step, now: number) => [
  step.error
    ? h(
        'div',
        { class: 'error-text' },
        `${step.error.name}: ${step.error.message}`,
        step.error.code ? ` (${step.error.code})` : '',
        step.error.stack ? fold(`stack:${step.id}`, 'stack', h('pre', { class: 'stack' }, step.error.stack)) : null,
      )
    : null,
  step.until !== undefined
    ? h(
        'div',
        { class: 'muted' },
        `${step.status === 'retrying' ? 'next attempt' : step.kind === 'sleep' ? 'wakes' : 'until'} ${relative(step.until, now)}`,
      )
    : null,
  step.childId ? h('div', null, 'child run ', runLink(step.childId)) : null,
  step.output !== undefined ? fold(`out:${step.id}`, 'output', jsonBlock(step.output)) : null,
  step.idempotencyKey ? h('div', { class: 'key' }, 'key ', h('code', null, step.idempotencyKey)) : null,
  run.currentStep === step.id && !TERMINAL.has(run.status) ? h('div', { class: 'muted' }, 'the run is here') : null,
]

/** The steps, in journal order, on one time line: status, attempts, times, errors, keys, outputs. */
const timeline = (run: Run, now: number, onFork?: (stepId: string) => void) => {
  const end = run.finishedAt ?? Math.max(now, run.updatedAt)
  return h(
    'table',
    { class: 'timeline', id: 'timeline' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Step', 'Kind', 'Status', 'Attempts', 'Started', 'Took', 'Time line', 'Details', ''].map((t) => h('th', null, t)),
      ),
    ),
    h(
      'tbody',
      null,
      run.steps.length === 0 ? h('tr', null, h('td', { colspan: 9, class: 'muted empty' }, 'No step yet.')) : null,
      run.steps.map((s) =>
        h(
          'tr',
          { 'data-step-id': s.id, 'data-step-status': s.status },
          h('td', null, h('code', null, s.id)),
          h('td', null, s.kind),
          h('td', null, statusBadge(s.status)),
          h('td', null, s.attempts ?? ''),
          h('td', { title: when(s.startedAt) }, `+${duration(s.startedAt - run.createdAt)}`),
          h(
            'td',
            null,
            s.durationMs !== undefined ? duration(s.durationMs) : TERMINAL.has(run.status) ? '—' : `${duration(now - s.startedAt)}…`,
          ),
          h('td', { class: 'bar-cell' }, bar(s, run.createdAt, end)),
          h('td', { class: 'details' }, stepDetails(run, s, now)),
          h(
            'td',
            null,
            onFork ? h('button', { type: 'button', class: 'small fork-from', onclick: () => onFork(s.id) }, 'Fork from here') : null,
          ),
        ),
      ),
    ),
  )
}

const summaryOf = (d: RunDetail, now: number) => {
  const run = d.run
  return h(
    'dl',
    { class: 'summary' },
    field('Status', statusBadge(run.status)),
    field('Workflow', `${run.workflowId} v${run.version}`),
    field('Created', when(run.createdAt)),
    field('Updated', `${when(run.updatedAt)} (${relative(run.updatedAt, now)})`),
    field('Finished', run.finishedAt ? when(run.finishedAt) : undefined),
    field('Took', duration((run.finishedAt ?? now) - run.createdAt)),
    field('At step', run.currentStep),
    field('Waiting for', run.waitingFor?.join(', ')),
    field('Wakes', run.wakeAt ? `${when(run.wakeAt)} (${relative(run.wakeAt, now)})` : undefined),
    field('Retries', run.retries),
    field('Executed by', run.owner),
    field('Parent', d.parents.length ? runLink(d.parents[0]?.id as string, d.parents[0]?.workflowId) : undefined),
  )
}

/** One run: summary, error, step time line, input/state/output, child runs, and the commands. */
export const runView = (app: App, runId: string): View => {
  const title = h('h1', null, 'Run ', h('code', { id: 'run-id' }, runId))
  const head = h('div', { id: 'run-head' })
  const body = h('div', { id: 'run-body' })
  const actions = runActions(app, runId)
  const el = h('section', { class: 'view view-run' }, h('p', null, h('a', { href: '#/runs' }, '← All runs')), title, head, actions.el, body)
  let last = ''

  const refresh = async () => {
    const d = await app.api.get<RunDetail>(`runs/${encodeURIComponent(runId)}`)
    const now = Date.now()
    el.setAttribute('data-run-status', d.run.status)
    actions.update(d)
    // Unchanged data (the common case while a run sleeps or waits) is not drawn again.
    const text = JSON.stringify(d)
    if (text === last && TERMINAL.has(d.run.status)) return
    last = text
    const run = d.run
    rerender(
      head,
      summaryOf(d, now),
      run.error
        ? h(
            'div',
            { class: 'error-box', id: 'run-error' },
            h('strong', null, `${run.error.name}: `),
            run.error.message,
            run.error.stack ? fold('run-stack', 'stack', h('pre', { class: 'stack' }, run.error.stack)) : null,
          )
        : null,
    )
    rerender(
      body,
      d.parents.length > 1
        ? h(
            'p',
            { class: 'muted' },
            'Ancestors: ',
            d.parents.map((p, i) => [i ? ' ← ' : '', runLink(p.id, p.workflowId)]),
          )
        : null,
      h('h2', null, 'Steps'),
      timeline(run, now, app.config.write ? (stepId) => actions.forkFrom(stepId) : undefined),
      h('h2', null, 'Child runs'),
      d.children.length ? tree(d.children) : h('p', { class: 'muted' }, 'None.'),
      h('h2', null, 'Signals'),
      h(
        'p',
        { class: 'muted', id: 'signals-note' },
        run.waitingFor?.length ? `Waiting for: ${run.waitingFor.join(', ')}. ` : '',
        'Signals received are the outputs of the wait steps above. Signals sent but not yet taken are kept by the engine; its public API does not list them.',
      ),
      h(
        'div',
        { class: 'values' },
        h('div', null, h('h2', null, 'Input'), jsonBlock(run.input)),
        h('div', null, h('h2', null, 'State'), jsonBlock(run.state)),
        h('div', null, h('h2', null, 'Output'), jsonBlock(run.output)),
      ),
    )
  }
  return { el, refresh }
}
