/** The page's settings (from its `<meta>`) and the calls to the JSON API. */

export interface Config {
  base: string
  csrf: string
  write: boolean
  refresh: number
}

export const readConfig = (): Config => {
  const meta = document.querySelector('meta[name="do-sdk-dashboard"]')
  return {
    base: meta?.getAttribute('data-base') ?? '',
    csrf: meta?.getAttribute('data-csrf') ?? '',
    write: meta?.getAttribute('data-write') === 'true',
    refresh: Number(meta?.getAttribute('data-refresh') ?? '2000'),
  }
}

/** An error answer of the API, with its code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const answer = async <T>(response: Response): Promise<T> => {
  const body = await response.json().catch(() => undefined)
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error
    throw new ApiError(response.status, error?.code ?? 'HTTP', error?.message ?? `HTTP ${response.status}`)
  }
  return body as T
}

/** A POST to the API with the CSRF token of the page. */
const post = async <T>(config: Config, path: string, body: unknown): Promise<T> =>
  answer<T>(
    await fetch(`${config.base}/api/${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': config.csrf },
      body: JSON.stringify(body),
    }),
  )

export const api = (config: Config) => ({
  get: async <T>(path: string, params?: Record<string, string | number | undefined>): Promise<T> => {
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') query.append(k, String(v))
    const qs = query.toString()
    return answer<T>(await fetch(`${config.base}/api/${path}${qs ? `?${qs}` : ''}`, { credentials: 'same-origin' }))
  },
  /** A command on a run: POST with the CSRF token of the page. */
  command: <T>(runId: string, command: string, body: unknown = {}): Promise<T> =>
    post<T>(config, `runs/${encodeURIComponent(runId)}/${command}`, body),
  /** A command on a schedule (pause, resume, trigger): POST with the CSRF token of the page. */
  scheduleCommand: <T>(scheduleId: string, command: 'pause' | 'resume' | 'trigger'): Promise<T> =>
    post<T>(config, `schedules/${encodeURIComponent(scheduleId)}/${command}`, {}),
})

export type Api = ReturnType<typeof api>

export type RunStatus = 'pending' | 'running' | 'sleeping' | 'waiting' | 'completed' | 'failed' | 'cancelled'

export interface StoredError {
  name: string
  message: string
  code?: string
  stack?: string
  retryable?: boolean
}

export interface RunSummary {
  id: string
  workflowId: string
  version: string
  status: RunStatus
  createdAt: number
  updatedAt: number
  finishedAt?: number
  currentStep?: string
  waitingFor?: string[]
  wakeAt?: number
  parentId?: string
  retries: number
  error?: StoredError
}

export interface Step {
  id: string
  kind: string
  status: string
  attempts?: number
  output?: unknown
  error?: StoredError
  startedAt: number
  completedAt?: number
  until?: number
  childId?: string
  idempotencyKey?: string
  durationMs?: number
}

export interface RunNode {
  id: string
  workflowId?: string
  status?: RunStatus
  stepId?: string
  missing?: boolean
  children: RunNode[]
}

export interface RunDetail {
  run: RunSummary & { input: unknown; state: unknown; output?: unknown; steps: Step[]; owner?: string }
  parents: { id: string; workflowId?: string; status?: RunStatus }[]
  children: RunNode[]
}

export interface WorkflowInfo {
  id: string
  version: string
  description?: string
  inputSchema: unknown
  stateSchema: unknown
  outputSchema: unknown
  signals: { name: string; schema: unknown }[]
}

export interface ActionInfo {
  id: string
  description: string
  inputSchema: unknown
  outputSchema: unknown
  retry: unknown
  timeoutMs?: number
}
