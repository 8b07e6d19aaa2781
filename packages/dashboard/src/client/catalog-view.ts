import type { ActionInfo, WorkflowInfo } from './api.js'
import type { App, View } from './app.js'
import { fold, h, jsonBlock, replace } from './dom.js'
import { duration } from './format.js'

const isEmptySchema = (schema: unknown) => typeof schema === 'object' && schema !== null && Object.keys(schema).length === 0

const schema = (key: string, label: string, value: unknown) =>
  isEmptySchema(value) ? h('p', { class: 'muted' }, `${label}: no schema`) : fold(key, label, jsonBlock(value))

/** The workflows given to `dashboard({ workflows })`, with their JSON Schemas and declared signals. */
export const workflowsView = (app: App): View => {
  const list = h('div', { class: 'cards', id: 'workflows' })
  const el = h('section', { class: 'view' }, h('h1', null, 'Workflows'), list)
  const refresh = async () => {
    const { workflows } = await app.api.get<{ workflows: WorkflowInfo[] }>('workflows')
    replace(
      list,
      workflows.length === 0 ? h('p', { class: 'muted' }, 'No workflows: pass them to dashboard({ workflows }) to list them here.') : null,
      workflows.map((w) =>
        h(
          'article',
          { class: 'card', 'data-workflow-id': w.id },
          h('h2', null, w.id, h('span', { class: 'muted' }, ` v${w.version}`)),
          w.description ? h('p', null, w.description) : null,
          h('p', null, h('a', { href: `#/runs?workflowId=${encodeURIComponent(w.id)}` }, 'Its runs →')),
          schema(`wf-in:${w.id}@${w.version}`, 'Input schema', w.inputSchema),
          schema(`wf-state:${w.id}@${w.version}`, 'State schema', w.stateSchema),
          schema(`wf-out:${w.id}@${w.version}`, 'Output schema', w.outputSchema),
          w.signals.length
            ? h(
                'div',
                null,
                h('h3', null, 'Signals'),
                w.signals.map((s) => schema(`wf-sig:${w.id}@${w.version}:${s.name}`, s.name, s.schema)),
              )
            : h('p', { class: 'muted' }, 'Signals: any name, any payload (none declared).'),
        ),
      ),
    )
  }
  return { el, refresh }
}

/** The engine's action catalog (`engine.actions()`). */
export const actionsView = (app: App): View => {
  const list = h('div', { class: 'cards', id: 'actions' })
  const el = h('section', { class: 'view' }, h('h1', null, 'Actions'), list)
  const refresh = async () => {
    const { actions } = await app.api.get<{ actions: ActionInfo[] }>('actions')
    replace(
      list,
      actions.length === 0
        ? h('p', { class: 'muted' }, 'The engine knows no actions (createEngine({ actions }) or a pack plugin adds them).')
        : null,
      actions.map((a) =>
        h(
          'article',
          { class: 'card', 'data-action-id': a.id },
          h('h2', null, a.id),
          h('p', null, a.description),
          h('p', { class: 'muted' }, a.timeoutMs !== undefined ? `timeout ${duration(a.timeoutMs)}` : 'no timeout'),
          fold(`act-retry:${a.id}`, 'Retry policy', jsonBlock(a.retry)),
          schema(`act-in:${a.id}`, 'Input schema', a.inputSchema),
          schema(`act-out:${a.id}`, 'Output schema', a.outputSchema),
        ),
      ),
    )
  }
  return { el, refresh }
}
