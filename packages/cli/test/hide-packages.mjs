// Module hook of the CLI tests: every bare specifier listed in DO_SDK_CLI_HIDE (comma-separated)
// fails to resolve the way Node reports a package that is not installed.
const hidden = new Set((process.env.DO_SDK_CLI_HIDE ?? '').split(',').filter(Boolean))

export async function resolve(specifier, context, next) {
  if (hidden.has(specifier)) {
    const error = new Error(`Cannot find package '${specifier}' imported from ${context.parentURL ?? 'the CLI'}`)
    error.code = 'ERR_MODULE_NOT_FOUND'
    throw error
  }
  return next(specifier, context)
}
