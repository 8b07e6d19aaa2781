/** A minimal structured logger; pass your own (pino, winston…) through the engine options. */
export interface Logger {
  /** Whether messages at `level` are written (the engine skips building what would be dropped). @default always */
  enabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
type Level = (typeof LEVELS)[number]

/** The line starts with the tag: an error message quoted in it keeps its store or pack tag, not a second `[do-sdk]`. */
const withoutInnerTags = (message: string) => message.replace(/(^|[\s(:"])\[do-sdk\] /g, '$1')

/**
 * The default logger writes to the console at `warn` and above; set `DO_SDK_LOG=debug|info|warn|error|silent`
 * to change the level.
 */
export const consoleLogger = (level: Level = (process.env.DO_SDK_LOG as Level | undefined) ?? 'warn'): Logger => {
  const min = Math.max(0, LEVELS.indexOf(level))
  const at =
    (lvl: Exclude<Level, 'silent'>, write: (...args: unknown[]) => void) => (message: string, fields?: Record<string, unknown>) => {
      if (LEVELS.indexOf(lvl) < min) return
      const line = `[do-sdk] ${withoutInnerTags(message)}`
      fields ? write(line, fields) : write(line)
    }
  return {
    enabled: (lvl) => LEVELS.indexOf(lvl) >= min,
    debug: at('debug', console.debug),
    info: at('info', console.info),
    warn: at('warn', console.warn),
    error: at('error', console.error),
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = { enabled: () => false, debug() {}, info() {}, warn() {}, error() {} }
