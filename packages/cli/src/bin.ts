#!/usr/bin/env node
import { runCli } from './cli.js'

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  // The store is closed by now and the process ends on its own; should a client library keep a
  // socket open anyway, the CLI still exits (the timer does not keep the process alive itself).
  setTimeout(() => process.exit(code), 2_000).unref()
})
