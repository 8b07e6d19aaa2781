// Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions and files by self time.
import { readFileSync } from 'node:fs'
import { SourceMap, type SourceMapping } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface Ranked {
  name: string
  selfMs: number
  percent: number
}

const maps = new Map<string, SourceMap | undefined>()

/** The source map next to a built file (`dist/index.js.map`), if any. */
const sourceMapOf = (path: string): SourceMap | undefined => {
  if (!maps.has(path)) {
    try {
      maps.set(path, new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))))
    } catch {
      maps.set(path, undefined)
    }
  }
  return maps.get(path)
}

/** `file:line` relative to the repo, mapped from `dist/` to the TypeScript source when a source map says where. */
const locate = (url: string, line: number, column: number, root: string): string => {
  if (!url) return ''
  if (!url.startsWith('file://')) return `${url}:${line + 1}`
  let path = fileURLToPath(url)
  let at = line + 1
  const found = path.endsWith('.js') || path.endsWith('.cjs') ? sourceMapOf(path)?.findEntry(line, column) : undefined
  const entry = found && 'originalSource' in found ? (found as SourceMapping) : undefined
  if (entry?.originalSource) {
    const source = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(path), entry.originalSource)
    path = source
    at = entry.originalLine + 1
  }
  const rel = relative(root, path)
  // pnpm's store path says nothing useful: keep the package name and the file.
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.+)$/.exec(rel)
  return `${pnpm ? `node_modules/${pnpm[1]}` : rel.startsWith('..') ? path : rel}:${at}`
}

/**
 * Self time per function (name @ file:line) and per file, in ms, largest first. With `windowUs`
 * (the profiler's monotonic clock, the one `process.hrtime` reads), only samples inside it count,
 * so process start-up and warm-up stay out.
 */
export const summarize = (file: string, root: string, windowUs?: [number, number]) => {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  const [from, to] = windowUs ?? [profile.startTime, profile.endTime]
  let t = profile.startTime
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    t += delta
    if (t < from || t > to) continue
    const id = profile.samples[i] as number
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta)
    total += delta
  }
  const fns = new Map<string, number>()
  const files = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (!node) continue
    const { functionName, url, lineNumber, columnNumber } = node.callFrame
    const where = locate(url, lineNumber, columnNumber, root)
    const name = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`
    fns.set(name, (fns.get(name) ?? 0) + us)
    const fileKey = where ? where.slice(0, where.lastIndexOf(':')) : functionName
    files.set(fileKey, (files.get(fileKey) ?? 0) + us)
  }
  const rank = (m: Map<string, number>): Ranked[] =>
    [...m.entries()].map(([name, us]) => ({ name, selfMs: us / 1000, percent: (us / total) * 100 })).sort((a, b) => b.selfMs - a.selfMs)
  return { totalMs: total / 1000, functions: rank(fns), files: rank(files) }
}
