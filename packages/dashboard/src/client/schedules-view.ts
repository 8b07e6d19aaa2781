import { type App, messageOf, runHref, type View } from './app.js'
import { h, replace } from './dom.js'
import { duration, when } from './format.js'

interface ScheduleRow {
  id: string
  workflowId?: string
  cron?: string
  every?: number
  timezone?: string
  paused?: boolean
  nextRunAt?: number
  lastRunId?: string
  overlap?: string
  catchup?: string
}

type ScheduleCommand = 'pause' | 'resume' | 'trigger'

const HEADERS = ['Schedule', 'Workflow', 'When', 'State', 'Next tick', 'Last run', 'Policies']

/**
 * Schedules (`engine.schedules.list()`): each one's state and next tick; with write access, Pause or
 * Resume and "Run now" per schedule. Nothing when the engine has no schedules.
 */
export const schedulesView = (app: App): View => {
  const list = h('div', { id: 'schedules' })
  const el = h('section', { class: 'view' }, h('h1', null, 'Schedules'), list)

  /** Runs a command on one schedule, then says what happened and shows the schedules anew. */
  const act = async (button: HTMLButtonElement, id: string, command: ScheduleCommand) => {
    button.disabled = true
    try {
      const r = await app.api.scheduleCommand<{ runId?: string }>(id, command)
      app.notice(
        command === 'trigger'
          ? `Schedule "${id}" started run ${r.runId}.`
          : `Schedule "${id}" ${command === 'pause' ? 'paused' : 'resumed'}.`,
      )
      app.refreshNow()
    } catch (error) {
      app.notice(messageOf(error), 'error')
      button.disabled = false
    }
  }
  const button = (id: string, command: ScheduleCommand, label: string) => {
    const b = h('button', { type: 'button', class: 'small', 'data-schedule-action': command }, label)
    b.addEventListener('click', () => void act(b, id, command))
    return b
  }

  const row = (s: ScheduleRow) =>
    h(
      'tr',
      { 'data-schedule-id': s.id, 'data-schedule-paused': s.paused === true ? 'true' : 'false' },
      h('td', null, h('code', null, s.id)),
      h('td', null, s.workflowId ?? ''),
      h('td', null, s.cron ? `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : s.every ? `every ${duration(s.every)}` : ''),
      h('td', { class: 'schedule-state' }, s.paused ? h('span', { class: 'badge' }, 'paused') : 'active'),
      h('td', { class: 'schedule-next' }, when(s.nextRunAt)),
      h('td', null, s.lastRunId ? h('a', { href: runHref(s.lastRunId), class: 'run-link' }, s.lastRunId) : '—'),
      h('td', { class: 'muted' }, [s.overlap && `overlap ${s.overlap}`, s.catchup && `catch-up ${s.catchup}`].filter(Boolean).join(', ')),
      app.config.write
        ? h(
            'td',
            { class: 'schedule-actions' },
            s.paused ? button(s.id, 'resume', 'Resume') : button(s.id, 'pause', 'Pause'),
            ' ',
            button(s.id, 'trigger', 'Run now'),
          )
        : null,
    )

  const refresh = async () => {
    const got = await app.api.get<{ supported: boolean; schedules: ScheduleRow[] }>('schedules')
    if (!got.supported) return replace(list, h('p', { class: 'muted' }, 'This engine has no schedules.'))
    const headers = app.config.write ? [...HEADERS, 'Actions'] : HEADERS
    replace(
      list,
      h(
        'table',
        { class: 'runs' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            headers.map((t) => h('th', null, t)),
          ),
        ),
        h(
          'tbody',
          null,
          got.schedules.length === 0 ? h('tr', null, h('td', { colspan: headers.length, class: 'muted empty' }, 'No schedules.')) : null,
          got.schedules.map(row),
        ),
      ),
    )
  }
  return { el, refresh }
}
