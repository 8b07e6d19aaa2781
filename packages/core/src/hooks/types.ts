// Placeholder filled in by the hooks work: the typed event map and interceptor contracts.
export interface HookRegistry {
  /** Observes a lifecycle event; returns a function that unregisters the observer. */
  on(name: string, fn: (event: any) => void | Promise<void>): () => void
}
