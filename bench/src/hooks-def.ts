/** Settings of hooks-case.ts. */
export interface HooksConfig {
  /** Steps per workflow. */
  steps: number
  /** Sequential runs per variant per round. */
  runs: number
  warmup: number
  /** Rounds; the variants take turns within each. */
  reps: number
}

export const HOOK_VARIANTS = ['none', 'unrelated observer', '1 observer', '1 wrap'] as const
export type HookVariant = (typeof HOOK_VARIANTS)[number]
