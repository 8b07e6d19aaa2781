import type { RunStatus, RunSummary, WorkflowInfo } from './api.js'
import { type App, runHref, type View } from './app.js'
import { h, replace } from './dom.js'
import { duration, relative, when } from './format.js'

const STATUSES: RunStatus[] = ['pending', 'running', 'sleeping', 'waiting', 'completed', 'failed', 'cancelled']

/** "Created within": the time filter, as a window before now. */
const SINCE: [string, string, number][] = [
  ['', 'any time', 0],
  ['15m', 'last 15 minutes', 15 * 60_000],
  ['1h', 'last hour', 3_600_000],
  ['24h', 'last 24 hours', 86_400_000],
  ['7d', 'last 7 days', 7 * 86_400_000],
  ['30d', 'last 30 days', 30 * 86_400_000],
]

/** A status as a coloured label (`data-status` for tests and styles). */
export const statusBadge = (status: string | undefined) =>
  h('span', { class: `status status-${status ?? 'unknown'}`, 'data-status': status ?? 'unknown' }, status ?? 'unknown')

const option = (value: string, label: string, selected: boolean) => h('option', { value, selected }, label)

/** The list of runs: counts by status, filters (workflow, status, time, id prefix), pages, refreshed live. */
export const runsView = (app: App, params: URLSearchParams): View => {
  const filter = {
    workflowId: params.get('workflowId') ?? '',
    status: params.get('status') ?? '',
    since: params.get('since') ?? '',
    idPrefix: params.get('idPrefix') ?? '',
    limit: params.get('limit') ?? '50',
  }
  /** Cursors of the pages before this one (Newer pops, Older pushes). */
  const cursors: (string | undefined)[] = []
  let cursor: string | undefined
  let nextCursor: string | undefined

  const go = (changes: Partial<typeof filter>) => {
    const next = new URLSearchParams()
    for (const [k, v] of Object.entries({ ...filter, ...changes })) if (v) next.set(k, v)
    app.go(`#/runs?${next}`)
  }

  const workflowInput = h('input', {
    id: 'filter-workflow',
    name: 'workflowId',
    list: 'workflow-ids',
    value: filter.workflowId,
    placeholder: 'any workflow',
  })
  const workflowIds = h('datalist', { id: 'workflow-ids' })
  const statusSelect = h(
    'select',
    { id: 'filter-status', name: 'status' },
    option('', 'any status', filter.status === ''),
    STATUSES.map((s) => option(s, s, filter.status === s)),
  )
  const sinceSelect = h(
    'select',
    { id: 'filter-since', name: 'since' },
    SINCE.map(([v, label]) => option(v, label, filter.since === v)),
  )
  const prefixInput = h('input', { id: 'filter-prefix', name: 'idPrefix', value: filter.idPrefix, placeholder: 'run id starts with' })
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e) => {
        e.preventDefault()
        go({
          workflowId: workflowInput.value.trim(),
          status: statusSelect.value,
          since: sinceSelect.value,
          idPrefix: prefixInput.value.trim(),
        })
      },
    },
    h('label', null, 'Workflow ', workflowInput),
    workflowIds,
    h('label', null, 'Status ', statusSelect),
    h('label', null, 'Created ', sinceSelect),
    h('label', null, 'Id ', prefixInput),
    h('button', { type: 'submit', id: 'apply-filters' }, 'Apply'),
  )
  // A new status applies at once (a click on the list of statuses does the same).
  statusSelect.addEventListener('change', () => form.requestSubmit())

  const counts = h('div', { class: 'counts', id: 'counts' })
  const tbody = h('tbody')
  const table = h(
    'table',
    { class: 'runs', id: 'runs' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Run', 'Workflow', 'Status', 'At / error', 'Created', 'Updated', 'Took', 'Retries'].map((t) => h('th', null, t)),
      ),
    ),
    tbody,
  )
  const newer = h('button', { type: 'button', id: 'page-newer', disabled: true }, '← Newer')
  const older = h('button', { type: 'button', id: 'page-older', disabled: true }, 'Older →')
  const pageInfo = h('span', { class: 'muted' })
  const el = h(
    'section',
    { class: 'view view-runs' },
    h('h1', null, 'Runs'),
    counts,
    form,
    table,
    h('div', { class: 'pager' }, newer, pageInfo, older),
  )

  const refresh = async () => {
    const since = SINCE.find(([v]) => v === filter.since)?.[2] ?? 0
    const [list, c] = await Promise.all([
      app.api.get<{ runs: RunSummary[]; nextCursor?: string }>('runs', {
        workflowId: filter.workflowId,
        status: filter.status,
        from: since ? Date.now() - since : undefined,
        idPrefix: filter.idPrefix,
        limit: filter.limit,
        cursor,
      }),
      app.api.get<{ total: number; byStatus: Record<RunStatus, number> }>('counts', { workflowId: filter.workflowId }),
    ])
    nextCursor = list.nextCursor
    replace(
      counts,
      h(
        'button',
        { type: 'button', class: filter.status === '' ? 'count active' : 'count', onclick: () => go({ status: '' }) },
        `all ${c.total}`,
      ),
      STATUSES.map((s) =>
        h(
          'button',
          { type: 'button', class: filter.status === s ? 'count active' : 'count', 'data-count': s, onclick: () => go({ status: s }) },
          statusBadge(s),
          ` ${c.byStatus[s] ?? 0}`,
        ),
      ),
    )
    const now = Date.now()
    replace(
      tbody,
      list.runs.length === 0 ? h('tr', null, h('td', { colspan: 8, class: 'muted empty' }, 'No runs match.')) : null,
      list.runs.map((r) =>
        h(
          'tr',
          { 'data-run-id': r.id, 'data-run-status': r.status },
          h('td', null, h('a', { href: runHref(r.id), class: 'run-link' }, r.id)),
          h('td', null, r.workflowId, h('span', { class: 'muted' }, ` v${r.version}`)),
          h('td', null, statusBadge(r.status)),
          h(
            'td',
            { class: 'at' },
            r.error ? h('span', { class: 'error-text' }, `${r.error.name}: ${r.error.message}`) : (r.currentStep ?? ''),
            r.waitingFor?.length ? h('span', { class: 'muted' }, ` waiting for ${r.waitingFor.join(', ')}`) : null,
            r.wakeAt ? h('span', { class: 'muted' }, ` wakes ${relative(r.wakeAt, now)}`) : null,
          ),
          h('td', { title: when(r.createdAt) }, relative(r.createdAt, now)),
          h('td', { title: when(r.updatedAt) }, relative(r.updatedAt, now)),
          h('td', null, duration((r.finishedAt ?? now) - r.createdAt)),
          h('td', null, r.retries),
        ),
      ),
    )
    newer.disabled = cursors.length === 0
    older.disabled = nextCursor === undefined
    pageInfo.textContent = `page ${cursors.length + 1}`
  }

  newer.addEventListener('click', () => {
    cursor = cursors.pop()
    void refresh()
  })
  older.addEventListener('click', () => {
    if (nextCursor === undefined) return
    cursors.push(cursor)
    cursor = nextCursor
    void refresh()
  })
  app.api
    .get<{ workflows: WorkflowInfo[] }>('workflows')
    .then(({ workflows }) =>
      replace(
        workflowIds,
        [...new Set(workflows.map((w) => w.id))].map((id) => h('option', { value: id })),
      ),
    )
    .catch(() => {})
  return { el, refresh }
}
