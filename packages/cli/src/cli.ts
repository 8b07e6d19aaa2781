import { parseArgs } from 'node:util'
import { createEngine, type Datastore, DoSdkError, type Engine } from '@do-sdk/core'
import { type FlagSpec, GLOBAL_FLAGS, parseTimeout } from './args.js'
import { type Command, type CommandContext, type FlagValues, list, str } from './command.js'
import { CliError, messageOf, UsageError } from './errors.js'
import { duration } from './format.js'
import { readCommands } from './read-commands.js'
import { replayCheckCommand } from './replay-check.js'
import { scheduleCommands } from './schedule-commands.js'
import { openStore, parseStoreUrl, redactUrl } from './store-url.js'
import { type LoadedWorkflows, loadWorkflows } from './workflows-module.js'
import { writeCommands } from './write-commands.js'

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly Command[] = [...readCommands, ...writeCommands, ...scheduleCommands, replayCheckCommand]

/** Commands in groups: `runs <subcommand>`, `schedules <subcommand>`. */
const GROUPS = ['runs', 'schedules']

const GLOBAL_USAGE = `Every command takes:
  --store <url>      sqlite:./do.db | sqlite:/abs/path | redis://… | rediss://… | postgres://… | postgresql://…
                     (default: the DO_SDK_STORE environment variable)
  --namespace <ns>   the namespace the app's store uses (default: the store's own)
  --schema <name>    PostgreSQL schema (postgres:// only; default public)
  --json             print one JSON document on stdout
  --timeout <time>   give up after this long, exit 1 (default 30s; e.g. 2m; 0: no limit)
  -h, --help         this help
`

const EXIT_CODES =
  'Exit codes: 0 ok; 1 not found (run or schedule), nothing done (the run had finished), replay-check failures, other errors; 2 usage errors.\n'

/** The general usage: every command on one line. */
export const generalUsage = (): string => {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  const lines = COMMANDS.map((c) => `  do-sdk ${c.name.padEnd(width)}  ${c.usage}`)
  return `Usage:\n${lines.join('\n')}\n\n${GLOBAL_USAGE}\n${EXIT_CODES}`
}

const usageLine = (command: Command) => `Usage: do-sdk ${command.name} ${command.usage} --store <url> [--namespace ns] [--json]\n`

/** One command's usage (`--help`). */
export const commandUsage = (command: Command): string => `${usageLine(command)}\n${command.summary}.\n\n${GLOBAL_USAGE}`

/** What a usage error prints after its message. */
const shortUsage = (command: Command | undefined): string =>
  command
    ? `${usageLine(command)}Run "do-sdk ${command.name} --help" for every flag.\n`
    : `Commands: ${COMMANDS.map((c) => c.name).join(', ')}.\nRun "do-sdk --help" for their usage.\n`

/** Where the CLI writes, and what it reads from its process (tests and embedders pass their own). */
export interface CliIo {
  /** @default process.stdout.write */
  stdout?: (text: string) => void
  /** @default process.stderr.write */
  stderr?: (text: string) => void
  /** Relative paths (`sqlite:./do.db`, `--workflows ./dist/workflows.js`) resolve against it. @default process.cwd() */
  cwd?: string
  /** Read for `DO_SDK_STORE`. @default process.env */
  env?: Record<string, string | undefined>
}

const findCommand = (argv: readonly string[]): { command: Command; rest: string[] } => {
  const [first, second] = argv as [string, string | undefined]
  if (GROUPS.includes(first)) {
    const subcommands = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.slice(first.length + 1))
    if (second === undefined || second.startsWith('-')) throw new UsageError(`"${first}" needs a subcommand: ${subcommands.join(', ')}`)
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`)
    if (!command) throw new UsageError(`Unknown command "${first} ${second}" (${first} subcommands: ${subcommands.join(', ')})`)
    return { command, rest: argv.slice(2) }
  }
  const command = COMMANDS.find((c) => c.name === first)
  if (!command) throw new UsageError(`Unknown command "${first}"`)
  return { command, rest: argv.slice(1) }
}

const parse = (command: Command, args: string[]): { values: FlagValues; positionals: string[] } => {
  const options: Record<string, FlagSpec> = { ...GLOBAL_FLAGS, ...command.flags }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true })
    return { values: values as FlagValues, positionals }
  } catch (error) {
    // parseArgs explains unknown flags and missing values well; the message is what the user needs.
    throw new UsageError(messageOf(error).replace(/\. To specify a positional argument.*$/s, ''), command.name)
  }
}

const checkPositionals = (command: Command, positionals: string[]) => {
  if (positionals.length < command.args.length) {
    const missing = command.args.slice(positionals.length).map((a) => `<${a}>`)
    throw new UsageError(`Missing ${missing.join(' ')}`, command.name)
  }
  if (positionals.length > command.args.length)
    throw new UsageError(`Unexpected argument "${positionals[command.args.length]}"`, command.name)
}

/**
 * Runs the CLI on `argv` (without `node` and the script) and resolves with the exit code: 0 ok;
 * 1 not found, nothing done, replay-check failures and other errors; 2 usage errors.
 *
 * @example
 * ```ts
 * const code = await runCli(['runs', 'list', '--store', 'sqlite:./do.db', '--status', 'failed'])
 * ```
 */
export const runCli = async (argv: readonly string[], io: CliIo = {}): Promise<number> => {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text))
  const err = io.stderr ?? ((text: string) => void process.stderr.write(text))
  const cwd = io.cwd ?? process.cwd()
  const env = io.env ?? process.env
  if (argv.length === 0) {
    err(generalUsage())
    return 2
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    out(generalUsage())
    return 0
  }
  let command: Command | undefined
  let store: Datastore | undefined
  try {
    const found = findCommand(argv)
    command = found.command
    const { values, positionals } = parse(command, found.rest)
    if (values.help === true) {
      out(commandUsage(command))
      return 0
    }
    checkPositionals(command, positionals)
    const url = str(values, 'store') ?? env.DO_SDK_STORE
    if (url === undefined || url === '') throw new UsageError('Missing --store <url> (or set DO_SDK_STORE)', command.name)
    const spec = parseStoreUrl(url, cwd)
    const namespace = str(values, 'namespace')
    const schema = str(values, 'schema')
    const timeoutMs = parseTimeout(str(values, 'timeout'), command.name)
    if (schema !== undefined && spec.kind !== 'postgres') throw new UsageError('--schema applies to postgres:// stores only', command.name)
    let loaded: Promise<LoadedWorkflows> | undefined
    const workflows = async () => {
      const modules = list(values, 'workflows')
      if (modules === undefined) return undefined
      loaded ??= loadWorkflows(modules, cwd)
      return loaded
    }
    let engine: Engine | undefined
    const ctx: CommandContext = {
      name: command.name,
      values,
      positionals,
      json: values.json === true,
      out,
      err,
      cwd,
      now: () => Date.now(),
      workflows,
      async engine() {
        if (engine) return engine
        // The modules load first: a wrong path is reported before anything connects.
        const registered = (await workflows())?.workflows ?? []
        store = await openStore(spec, {
          cwd,
          ...(namespace !== undefined ? { namespace } : {}),
          ...(schema !== undefined ? { schema } : {}),
        })
        // Never started: it reads and writes records and never executes a run. Multi-process, so
        // that it may create and retry runs that the app's engines execute.
        engine = createEngine({ store, workflows: registered, multiProcess: true, keepAlive: false })
        return engine
      },
    }
    // A store that does not answer (Redis down: its client waits and reconnects, as an engine
    // should) must not hang a CLI in CI: the command gives up at the deadline.
    const gaveUp = () =>
      new CliError(
        `Gave up after ${duration(timeoutMs)} (--timeout): the store at ${redactUrl(url)} did not answer in time (is it running and reachable?), or the command needs longer (raise --timeout).`,
      )
    return await withDeadline(command.run(ctx), timeoutMs, gaveUp)
  } catch (error) {
    return reportError(error, command, err, env)
  } finally {
    if (store) await withDeadline(Promise.resolve(store.close?.()), 2_000, () => new Error('close')).catch(() => {})
  }
}

/** `work`, or `error()` once `ms` have passed (0: no deadline). */
const withDeadline = <T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> => {
  if (ms === 0) return work
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

const reportError = (error: unknown, command: Command | undefined, err: (text: string) => void, env: CliIo['env'] & object) => {
  if (error instanceof UsageError) {
    err(`do-sdk: ${error.message}\n\n${shortUsage(COMMANDS.find((c) => c.name === error.command) ?? command)}`)
    return 2
  }
  if (error instanceof CliError) {
    err(`do-sdk: ${error.message}\n`)
    return error.exitCode
  }
  const message = messageOf(error)
  // The store's advice is for apps; from the CLI, an empty schema means the wrong database or schema.
  const hint = /Schema ".*" is at version 0/.test(message)
    ? '\n  The CLI never creates or migrates a schema: check --store and --schema, or start the app once on this database.'
    : ''
  err(`do-sdk: ${message}${hint}\n`)
  if (!DoSdkError.isInstance(error) && env.DO_SDK_LOG === 'debug' && error instanceof Error && error.stack) err(`${error.stack}\n`)
  return 1
}
