import type { Dialect } from './errors.js'
import type { Scalar } from './values.js'

/** Parameters of a raw query: positional (`?` or `$1`, `$2`…) or named (`:name`). */
export type Params = Scalar[] | Record<string, Scalar>

/** SQL text split around its placeholders, with the value bound at each one. */
export interface BoundSql {
  fragments: string[]
  values: Scalar[]
}

type Token = { kind: 'text'; text: string } | { kind: 'q' } | { kind: 'num'; n: number } | { kind: 'name'; name: string }

/** A problem with the SQL text or its parameters; `path` is relative to the action's input. */
export class RawSqlError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
  ) {
    super(message)
  }
}

const IDENT = /[A-Za-z0-9_]/

// Where a quoted string, quoted identifier, comment or dollar-quoted body starting at `i` ends (exclusive),
// or -1 when none starts there. Placeholders inside them are text, not parameters.
const skipQuoted = (sql: string, i: number, dialect: Dialect): number => {
  const ch = sql[i]
  const next = sql[i + 1]
  // PostgreSQL ends a -- comment at CR as well as LF: "--x\r; DROP TABLE t" is two statements there.
  if (ch === '-' && next === '-') {
    if (dialect === 'postgres') return lineEnd(sql, i + 2)
    // MySQL starts a comment only at "-- " followed by a blank or a control character: "1--x" is 1 - (-x).
    if (dialect === 'mysql' && (sql.charCodeAt(i + 2) || 0) > 0x20) return -1
    return endOf(sql, '\n', i + 2)
  }
  if (ch === '#' && dialect === 'mysql') return endOf(sql, '\n', i + 1)
  if (ch === '/' && next === '*') return blockCommentEnd(sql, i, dialect === 'postgres')
  if (ch === '[' && dialect === 'sqlite') return endOf(sql, ']', i + 1)
  if (ch === '$' && dialect === 'postgres') {
    const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0]
    if (tag) return endOf(sql, tag, i + tag.length)
  }
  const quote = ch === "'" || ch === '"' || (ch === '`' && dialect !== 'postgres')
  if (!quote) return -1
  // MySQL strings take backslash escapes, and so do PostgreSQL E'…' strings.
  const backslash =
    (dialect === 'mysql' && ch !== '`') ||
    (dialect === 'postgres' && ch === "'" && /[Ee]/.test(sql[i - 1] ?? '') && !IDENT.test(sql[i - 2] ?? ''))
  for (let j = i + 1; j < sql.length; j++) {
    if (backslash && sql[j] === '\\') j++
    else if (sql[j] === ch) {
      if (sql[j + 1] === ch) j++
      else return j + 1
    }
  }
  return sql.length
}

const lineEnd = (sql: string, from: number): number => {
  for (let j = from; j < sql.length; j++) if (sql[j] === '\n' || sql[j] === '\r') return j + 1
  return sql.length
}

const endOf = (sql: string, terminator: string, from: number): number => {
  const at = sql.indexOf(terminator, from)
  return at === -1 ? sql.length : at + terminator.length
}

const blockCommentEnd = (sql: string, start: number, nested: boolean): number => {
  let depth = 0
  for (let j = start; j < sql.length - 1; j++) {
    if (sql[j] === '/' && sql[j + 1] === '*' && (nested || depth === 0)) {
      depth++
      j++
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      depth--
      j++
      if (depth === 0) return j + 1
    }
  }
  return sql.length
}

/** Splits `sql` into text and placeholders, refusing a second statement after a `;`. */
export const tokenize = (sql: string, dialect: Dialect): Token[] => {
  const tokens: Token[] = []
  let text = ''
  let ended = false
  const flush = () => {
    if (text) tokens.push({ kind: 'text', text })
    text = ''
  }
  for (let i = 0; i < sql.length; ) {
    const skipTo = skipQuoted(sql, i, dialect)
    const isComment = (sql.startsWith('--', i) && skipTo !== -1) || sql.startsWith('/*', i) || (dialect === 'mysql' && sql[i] === '#')
    if (ended && !isComment && !/\s/.test(sql[i])) {
      throw new RawSqlError('holds more than one statement: run one statement per query', ['sql'])
    }
    if (skipTo !== -1) {
      // After the closing ";" only comments and blanks remain: they are dropped with it.
      if (!ended) text += sql.slice(i, skipTo)
      i = skipTo
      continue
    }
    if (ended || sql[i] === ';') {
      ended = true
      i++
      continue
    }
    const ch = sql[i]
    const numbered = ch === '$' ? /^\$(\d+)/.exec(sql.slice(i)) : null
    const named = ch === ':' && sql[i - 1] !== ':' ? /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i)) : null
    if (ch === '?' || numbered || named) {
      flush()
      if (ch === '?') tokens.push({ kind: 'q' })
      else if (numbered) tokens.push({ kind: 'num', n: Number(numbered[1]) })
      else if (named) tokens.push({ kind: 'name', name: named[1] })
      i += ch === '?' ? 1 : (numbered ?? named)![0].length
      continue
    }
    text += ch
    i++
  }
  flush()
  return tokens
}

const asText = (t: Token): string => (t.kind === 'text' ? t.text : t.kind === 'q' ? '?' : t.kind === 'num' ? `$${t.n}` : `:${t.name}`)

/**
 * Binds `params` at the placeholders of `sql`: an array binds `$1`, `$2`… (or, when there is none, each
 * `?` in order); an object binds `:name`. Placeholders inside strings, quoted identifiers and comments are
 * text. Every parameter must be used and every placeholder given a value.
 */
export const bindRawSql = (sql: string, params: Params | undefined, dialect: Dialect): BoundSql => {
  const tokens = tokenize(sql, dialect)
  const fragments = ['']
  const values: Scalar[] = []
  const used = new Set<string | number>()
  const numbered = Array.isArray(params) && tokens.some((t) => t.kind === 'num')
  let sequential = 0
  const valueFor = (t: Token): Scalar | undefined => {
    if (Array.isArray(params) && numbered && t.kind === 'num') {
      if (t.n < 1 || t.n > params.length) throw new RawSqlError(`$${t.n} has no value: params has ${params.length}`, ['params'])
      used.add(t.n - 1)
      return params[t.n - 1]
    }
    if (Array.isArray(params) && !numbered && t.kind === 'q') {
      if (sequential >= params.length) throw new RawSqlError(`has more "?" placeholders than the ${params.length} params`, ['params'])
      used.add(sequential)
      return params[sequential++]
    }
    if (params && !Array.isArray(params) && t.kind === 'name') {
      if (!Object.hasOwn(params, t.name)) throw new RawSqlError(`:${t.name} has no value in params`, ['params', t.name])
      used.add(t.name)
      return params[t.name]
    }
    return undefined
  }
  for (const t of tokens) {
    const value = valueFor(t)
    if (value === undefined) fragments[fragments.length - 1] += asText(t)
    else {
      values.push(value)
      fragments.push('')
    }
  }
  const given = Array.isArray(params) ? params.map((_, i) => i) : Object.keys(params ?? {})
  const unused = given.filter((k) => !used.has(k))
  if (unused.length) {
    throw new RawSqlError(`params ${unused.map((k) => (typeof k === 'number' ? `#${k + 1}` : `"${k}"`)).join(', ')} not used by the SQL`, [
      'params',
    ])
  }
  return { fragments, values }
}

/** The first word of a statement, upper-cased, after blanks and comments (`INSERT`, `UPDATE`, `WITH`…). */
export const leadingKeyword = (sql: string, dialect: Dialect): string => {
  let i = 0
  while (i < sql.length) {
    if (/\s/.test(sql[i] as string)) {
      i++
      continue
    }
    const comment = sql.startsWith('--', i) || sql.startsWith('/*', i) || (dialect === 'mysql' && sql[i] === '#')
    const end = comment ? skipQuoted(sql, i, dialect) : -1
    if (end === -1) break
    i = end
  }
  return (/^[A-Za-z]+/.exec(sql.slice(i))?.[0] ?? '').toUpperCase()
}
