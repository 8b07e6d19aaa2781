#!/usr/bin/env node
import { runCli } from './cli.js'

// `do-sdk runs list | head -1`: the reader went away; that is not an error of the CLI.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  // The store is closed by now and the process ends on its own; should a client library keep a
  // socket open anyway, the CLI still exits (the timer does not keep the process alive itself).
  setTimeout(() => process.exit(code), 2_000).unref()
})
