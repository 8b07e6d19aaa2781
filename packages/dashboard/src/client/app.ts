import type { Api, Config } from './api.js'

/** A page of the dashboard: its element, and how to fetch and show fresh data. */
export interface View {
  el: HTMLElement
  /** Fetches and shows the data; called at once, then every `refresh` ms while the page is visible. */
  refresh(): Promise<void>
}

/** What every view gets: the API, the settings, navigation and the notice line. */
export interface App {
  api: Api
  config: Config
  /** Goes to a hash route (`#/runs?status=failed`). */
  go(hash: string): void
  /** Shows a message in the notice line (`error` ones stay until the next one). */
  notice(message: string, kind?: 'ok' | 'error'): void
  /** Fetches and shows the current view's data now (after a command). */
  refreshNow(): void
}

/** The hash link of a run. */
export const runHref = (id: string) => `#/run/${encodeURIComponent(id)}`

/** The message of an error thrown by a fetch or by the API. */
export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))
