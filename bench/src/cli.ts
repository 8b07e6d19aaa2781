// The flags of the bench's commands: `--name` and `--name=value` (a list: `--name=a,b`).

/** Readers of the command line `args` (default: this process's). */
export const cliArgs = (args: string[] = process.argv.slice(2)) => {
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  return {
    flag: (name: string) => args.includes(`--${name}`),
    option,
    list: (name: string) => option(name)?.split(',').filter(Boolean),
  }
}
