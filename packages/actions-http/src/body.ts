import { TextDecoder } from 'node:util'
import { NonRetryableError, SizeLimitError } from '@do-sdk/core'
import type { Redactor } from './redact.js'
import type { HttpRequestBody } from './schema.js'

/** A request body ready for undici, with the content type it implies. */
export interface EncodedBody {
  payload: string | Buffer
  contentType: string
}

/** Encodes a request body (already validated by the input schema). */
export const encodeBody = (body: HttpRequestBody): EncodedBody => {
  switch (body.type) {
    case 'json':
      return { payload: JSON.stringify(body.data), contentType: 'application/json' }
    case 'form': {
      const form = new URLSearchParams()
      for (const [key, value] of Object.entries(body.data)) {
        for (const v of Array.isArray(value) ? value : [value]) form.append(key, String(v))
      }
      return { payload: form.toString(), contentType: 'application/x-www-form-urlencoded' }
    }
    case 'text':
      return { payload: body.data, contentType: body.contentType ?? 'text/plain; charset=utf-8' }
    case 'base64':
      return { payload: Buffer.from(body.data, 'base64'), contentType: body.contentType ?? 'application/octet-stream' }
  }
}

const ignore = () => {}

const tooLarge = (bytes: number, limit: number, url: string) =>
  new SizeLimitError(`[http] Response of ${url} is larger than maxResponseBytes (${limit} bytes)`, bytes, limit)

/**
 * Reads a response body, at most `limit` bytes: a declared `content-length` above it fails before
 * reading, a longer stream fails as soon as it passes it (the connection is dropped).
 */
export const readBody = async (
  stream: AsyncIterable<Buffer> & { destroy(err?: Error): unknown; on(event: 'error', fn: () => void): unknown },
  limit: number,
  contentLength: string | string[] | undefined,
  url: string,
): Promise<Buffer> => {
  // Dropping the stream early makes undici emit an abort 'error' that nobody else listens to any more.
  stream.on('error', ignore)
  const declared = typeof contentLength === 'string' ? Number(contentLength) : Number.NaN
  if (declared > limit) {
    stream.destroy()
    throw tooLarge(declared, limit, url)
  }
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    total += chunk.length
    if (total > limit) {
      stream.destroy()
      throw tooLarge(total, limit, url)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, total)
}

/** How the body was read; `empty` when there was none. */
export type BodyType = 'json' | 'text' | 'base64' | 'empty'
export type ResponseType = 'json' | 'text' | 'base64' | 'auto'

const JSON_TYPE = /^(?:application\/(?:[\w.-]*\+)?json|text\/json)$/
const TEXT_TYPE =
  /^(?:text\/.*|application\/(?:[\w.-]*\+)?xml|application\/(?:javascript|ecmascript|x-www-form-urlencoded|graphql|x-ndjson|yaml|x-yaml))$/

const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''

const charsetOf = (contentType: string | undefined) => /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType ?? '')?.[1]

const decodeText = (bytes: Buffer, contentType: string | undefined, fatal = false): string => {
  let decoder: InstanceType<typeof TextDecoder>
  try {
    decoder = new TextDecoder(charsetOf(contentType) ?? 'utf-8', { fatal })
  } catch {
    decoder = new TextDecoder('utf-8', { fatal })
  }
  return decoder.decode(bytes)
}

const isUtf8 = (bytes: Buffer) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** Decodes a response body as asked; `auto` reads the content type (and sniffs UTF-8 when there is none). */
export const decodeBody = (
  bytes: Buffer,
  responseType: ResponseType,
  contentType: string | undefined,
  redact: Redactor,
  url: string,
): { body: unknown; bodyType: BodyType } => {
  if (bytes.length === 0) return { body: null, bodyType: 'empty' }
  let type = responseType
  if (type === 'auto') {
    const media = mediaType(contentType)
    if (JSON_TYPE.test(media)) type = 'json'
    else if (TEXT_TYPE.test(media) || (media === '' && isUtf8(bytes))) type = 'text'
    else type = 'base64'
  }
  if (type === 'base64') return { body: bytes.toString('base64'), bodyType: 'base64' }
  const text = decodeText(bytes, contentType)
  if (type === 'text') return { body: redact.text(text), bodyType: 'text' }
  try {
    return { body: redact.json(JSON.parse(text)), bodyType: 'json' }
  } catch (error) {
    // The parser's message quotes the body, which may hold a secret: redact it, and keep no cause.
    const reason = redact.text((error as Error).message)
    throw new NonRetryableError(`[http] Response of ${url} is not valid JSON (content-type: ${contentType ?? 'none'}): ${reason}`)
  }
}
