import { api, readConfig } from './api.js'
import type { App, View } from './app.js'
import { messageOf } from './app.js'
import { actionsView, workflowsView } from './catalog-view.js'
import { h, replace } from './dom.js'
import { runView } from './run-view.js'
import { runsView } from './runs-view.js'
import { schedulesView } from './schedules-view.js'

const config = readConfig()
const client = api(config)
const main = document.getElementById('app') as HTMLElement
const nav = document.getElementById('nav') as HTMLElement
const who = document.getElementById('who') as HTMLElement
const notice = h('div', { id: 'notice', role: 'status', 'aria-live': 'polite' })
main.before(notice)

let current: View | undefined
let generation = 0
let timer: ReturnType<typeof setTimeout> | undefined

const show = async (view: View, gen: number) => {
  try {
    await view.refresh()
    view.el.setAttribute('data-loaded', 'true')
  } catch (error) {
    if (gen === generation) app.notice(messageOf(error), 'error')
  }
  if (gen !== generation || config.refresh <= 0) return
  clearTimeout(timer)
  // A hidden tab asks nothing of the server; it catches up when shown again.
  const tick = () => {
    if (gen !== generation) return
    if (document.hidden) timer = setTimeout(tick, config.refresh)
    else void show(view, gen)
  }
  timer = setTimeout(tick, config.refresh)
}

const app: App = {
  api: client,
  config,
  go: (hash) => {
    if (location.hash === hash) void route()
    else location.hash = hash
  },
  notice: (message, kind = 'ok') => {
    notice.className = `notice notice-${kind}`
    notice.textContent = message
  },
  refreshNow: () => {
    if (current) void show(current, generation)
  },
}

const navLinks = (schedules: boolean, active: string) =>
  [['runs', 'Runs'], ['workflows', 'Workflows'], ['actions', 'Actions'], ...(schedules ? [['schedules', 'Schedules']] : [])].map(
    ([key, label]) => h('a', { href: `#/${key}`, class: key === active ? 'active' : '' }, label as string),
  )

let schedulesSupported = false
let activeNav = 'runs'
const renderNav = () => replace(nav, navLinks(schedulesSupported, activeNav))

/** Shows the view of the current hash (`#/runs?…`, `#/run/<id>`, `#/workflows`, `#/actions`, `#/schedules`). */
const route = async () => {
  const hash = location.hash.replace(/^#/, '') || '/runs'
  const [path = '', query = ''] = hash.split('?')
  const params = new URLSearchParams(query)
  const parts = path.split('/').filter(Boolean)
  let view: View
  if (parts[0] === 'run' && parts[1] !== undefined) view = runView(app, decodeURIComponent(parts[1]))
  else if (parts[0] === 'workflows') view = workflowsView(app)
  else if (parts[0] === 'actions') view = actionsView(app)
  else if (parts[0] === 'schedules') view = schedulesView(app)
  else view = runsView(app, params)
  const gen = ++generation
  clearTimeout(timer)
  current = view
  activeNav = parts[0] === 'run' ? 'runs' : (parts[0] ?? 'runs')
  renderNav()
  app.notice('')
  replace(main, view.el)
  await show(view, gen)
}

window.addEventListener('hashchange', () => void route())
replace(who, config.write ? 'read and write' : h('span', { class: 'badge' }, 'read only'))
void route()
client
  .get<{ supported: boolean }>('schedules')
  .then((s) => {
    schedulesSupported = s.supported
    renderNav()
  })
  .catch(() => {})
