import { json } from './respond.js'

/** Largest command body, bytes (a signal payload included). */
export const MAX_BODY = 256 * 1024

const tooLarge = () => json(413, { error: { code: 'TOO_LARGE', message: `The body is over ${MAX_BODY} bytes` } })

/** Reads a body of at most `MAX_BODY` bytes, stopping as soon as it is over. */
const readLimited = async (request: Request): Promise<Uint8Array | undefined> => {
  if (!request.body) return new Uint8Array()
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

/**
 * The JSON object of a command's body (an empty body is `{}`). Only `application/json` is taken, so
 * a plain HTML form on another site cannot post here even before the CSRF check.
 */
export const readJsonBody = async (request: Request): Promise<Record<string, unknown> | Response> => {
  const type = request.headers.get('content-type') ?? ''
  const length = Number(request.headers.get('content-length') ?? '0')
  if (length > MAX_BODY) return tooLarge()
  const bytes = await readLimited(request)
  if (!bytes) return tooLarge()
  if (bytes.byteLength === 0) return {}
  if (!/^application\/json\s*(;|$)/i.test(type))
    return json(415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json' } })
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return json(400, { error: { code: 'BAD_REQUEST', message: 'The body is not valid JSON' } })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return json(400, { error: { code: 'BAD_REQUEST', message: 'The body must be a JSON object' } })
  return parsed as Record<string, unknown>
}
