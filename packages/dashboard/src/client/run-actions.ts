import type { RunDetail, WorkflowInfo } from './api.js'
import { type App, messageOf, runHref } from './app.js'
import { h, replace } from './dom.js'
import { TERMINAL } from './format.js'

/** Parses a JSON text box; an empty box is `undefined`. */
const parseJson = (text: string, what: string): unknown => {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${what} is not valid JSON`)
  }
}

/** Whether a stored value holds a redacted field (the engine stored `'[redacted]'` in place of the secret). */
const holdsRedacted = (value: unknown): boolean => JSON.stringify(value ?? null).includes('"[redacted]"')

/**
 * The commands on one run (shown only with write access): send a signal, cancel, retry a failed run,
 * fork from a step. Their inputs are built once and kept across refreshes.
 */
export const runActions = (app: App, runId: string) => {
  let detail: RunDetail | undefined
  const busy = async (button: HTMLButtonElement, work: () => Promise<void>) => {
    button.disabled = true
    try {
      await work()
    } catch (error) {
      app.notice(messageOf(error), 'error')
    } finally {
      button.disabled = false
    }
  }

  // Signal
  const signalName = h('input', { id: 'signal-name', name: 'name', list: 'signal-names', required: true, placeholder: 'signal name' })
  const signalNames = h('datalist', { id: 'signal-names' })
  const signalPayload = h('textarea', { id: 'signal-payload', name: 'payload', rows: 3, placeholder: 'payload as JSON (optional)' })
  const signalButton = h('button', { type: 'submit', id: 'signal-send' }, 'Send signal')
  const signalForm = h(
    'form',
    {
      class: 'command',
      id: 'signal-form',
      onsubmit: (e) => {
        e.preventDefault()
        void busy(signalButton, async () => {
          const payload = parseJson(signalPayload.value, 'The payload')
          const r = await app.api.command<{ delivered: boolean }>(runId, 'signal', { name: signalName.value.trim(), payload })
          app.notice(
            r.delivered ? `Signal "${signalName.value.trim()}" sent.` : 'Not delivered: the run has already finished.',
            r.delivered ? 'ok' : 'error',
          )
          app.refreshNow()
        })
      },
    },
    h('h3', null, 'Send a signal'),
    h('label', null, 'Name ', signalName),
    signalNames,
    h('label', { class: 'wide' }, 'Payload ', signalPayload),
    signalButton,
  )

  // Cancel and retry
  const cancelReason = h('input', { id: 'cancel-reason', placeholder: 'reason (optional)' })
  const cancelButton = h('button', { type: 'submit', id: 'cancel', class: 'danger' }, 'Cancel run')
  const cancelForm = h(
    'form',
    {
      class: 'command',
      id: 'cancel-form',
      onsubmit: (e) => {
        e.preventDefault()
        void busy(cancelButton, async () => {
          await app.api.command(runId, 'cancel', cancelReason.value.trim() ? { reason: cancelReason.value.trim() } : {})
          app.notice('Cancel requested.')
          app.refreshNow()
        })
      },
    },
    h('h3', null, 'Cancel'),
    cancelReason,
    cancelButton,
  )
  const retryButton = h('button', { type: 'button', id: 'retry' }, 'Retry from the failed step')
  retryButton.addEventListener('click', () =>
    busy(retryButton, async () => {
      await app.api.command(runId, 'retry')
      app.notice('Retry started.')
      app.refreshNow()
    }),
  )
  const retryBox = h('div', { class: 'command', id: 'retry-box' }, h('h3', null, 'Retry'), retryButton)

  // Fork
  const forkStep = h('select', { id: 'fork-step', name: 'fromStep' })
  const forkInput = h('textarea', { id: 'fork-input', rows: 3, placeholder: "input as JSON (empty: the run's input)" })
  const forkId = h('input', { id: 'fork-id', placeholder: 'new run id (optional)' })
  const forkWarning = h(
    'p',
    { class: 'warning', hidden: true },
    'The input holds redacted values: the fork would receive "[redacted]" in their place.',
  )
  const forkButton = h('button', { type: 'submit', id: 'fork' }, 'Fork')
  const forkForm = h(
    'form',
    {
      class: 'command',
      id: 'fork-form',
      onsubmit: (e) => {
        e.preventDefault()
        void busy(forkButton, async () => {
          const body: Record<string, unknown> = { fromStep: forkStep.value }
          const input = parseJson(forkInput.value, 'The input')
          if (input !== undefined) body.input = input
          if (forkId.value.trim()) body.id = forkId.value.trim()
          const r = await app.api.command<{ runId: string }>(runId, 'fork', body)
          app.go(runHref(r.runId))
          app.notice(`Forked from step ${forkStep.value}.`)
        })
      },
    },
    h('h3', null, 'Fork from a step'),
    h('label', null, 'From step ', forkStep),
    h('label', { class: 'wide' }, 'Input ', forkInput),
    forkWarning,
    h('label', null, 'Id ', forkId),
    forkButton,
  )
  // Redacted values are gone for good: a fork of such an input would run with the placeholder.
  const warnRedacted = () => {
    forkWarning.hidden = !(forkInput.value.trim() === '' ? holdsRedacted(detail?.run.input) : forkInput.value.includes('"[redacted]"'))
  }
  forkInput.addEventListener('input', warnRedacted)

  const el = h('div', { class: 'commands', id: 'commands' })
  if (app.config.write) el.append(signalForm, cancelForm, retryBox, forkForm)
  app.api
    .get<{ workflows: WorkflowInfo[] }>('workflows')
    .then(({ workflows }) => {
      const declared = () => workflows.find((w) => w.id === detail?.run.workflowId && w.version === detail.run.version)
      const names = new Set([...(declared()?.signals.map((s) => s.name) ?? []), ...(detail?.run.waitingFor ?? [])])
      replace(
        signalNames,
        [...names].map((n) => h('option', { value: n })),
      )
    })
    .catch(() => {})

  /** Shows the commands that apply to the run as it is now. */
  const update = (d: RunDetail) => {
    detail = d
    const finished = TERMINAL.has(d.run.status)
    signalForm.hidden = finished
    cancelForm.hidden = finished
    retryBox.hidden = d.run.status !== 'failed'
    forkForm.hidden = d.run.steps.length === 0
    const ids = d.run.steps.map((s) => s.id)
    const shown = [...forkStep.options].map((o) => o.value)
    if (ids.join('\n') !== shown.join('\n')) {
      const chosen = forkStep.value
      replace(
        forkStep,
        ids.map((id) => h('option', { value: id, selected: id === chosen }, id)),
      )
    }
    warnRedacted()
    if (d.run.waitingFor?.length && !signalName.value) signalName.value = d.run.waitingFor[0] as string
  }

  /** Chooses `stepId` in the fork form and brings it into view. */
  const forkFrom = (stepId: string) => {
    forkStep.value = stepId
    forkForm.scrollIntoView({ block: 'nearest' })
    forkStep.focus()
  }
  return { el, update, forkFrom }
}
