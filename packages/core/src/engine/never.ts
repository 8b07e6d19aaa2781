/**
 * A promise that never settles, fresh each time: a shared one would keep every parked execution
 * reachable (each `await` adds a reaction to it) for the life of the process.
 */
export const never = (): Promise<never> => new Promise<never>(() => {})
