// Every `<!-- test: <file> "<name>" -->` comment in docs/ names a test that exists: the file is
// there, and it declares a test (`it` / `test`, or `it.fails` for a promise whose code fix is
// pending) with exactly that name. A sentence of the docs that promises behaviour points at its test.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')
const docsDir = join(root, 'docs')

const markdownFiles = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = join(dir, name)
      if (statSync(full).isDirectory()) return name === 'node_modules' || name.startsWith('.') ? [] : markdownFiles(full)
      return name.endsWith('.md') ? [full] : []
    })

const LINK = /<!--\s*test:\s*(\S+)\s+"([^"]+)"\s*-->/g

/** The names of the tests a file declares: `it('…'`, `test("…"`, `` it.fails(`…` ``. */
const testNames = (source: string): Set<string> => {
  const names = new Set<string>()
  const call = /\b(?:it|test)(?:\.fails)?\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g
  for (const m of source.matchAll(call)) names.add((m[2] as string).replace(/\\(.)/g, '$1'))
  return names
}

const links = markdownFiles(docsDir).flatMap((file) => {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(LINK)].map((m) => ({
    doc: relative(root, file),
    line: text.slice(0, m.index).split('\n').length,
    testFile: m[1] as string,
    name: m[2] as string,
  }))
})

describe('docs name their tests', () => {
  it('finds the test comments', () => {
    expect(links.length).toBeGreaterThan(300)
  })

  it('every test comment in docs/ points at an existing test with that exact name', () => {
    const cache = new Map<string, Set<string> | undefined>()
    const broken = links.flatMap((l) => {
      if (!cache.has(l.testFile)) {
        const path = join(root, l.testFile)
        cache.set(l.testFile, existsSync(path) ? testNames(readFileSync(path, 'utf8')) : undefined)
      }
      const names = cache.get(l.testFile)
      if (!names) return [`${l.doc}:${l.line}: no file ${l.testFile}`]
      return names.has(l.name) ? [] : [`${l.doc}:${l.line}: ${l.testFile} has no test named "${l.name}"`]
    })
    expect(broken).toEqual([])
  })

  it('test names are unique within each docs test file', () => {
    const dir = dirname(fileURLToPath(import.meta.url))
    const duplicates = readdirSync(dir)
      .filter((f) => f.endsWith('.test.ts') && f !== 'links.test.ts')
      .flatMap((f) => {
        const source = readFileSync(join(dir, f), 'utf8')
        const all = [...source.matchAll(/\b(?:it|test)(?:\.fails)?\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)].map((m) => m[2])
        return all.filter((n, i) => all.indexOf(n) !== i).map((n) => `${f}: "${n}"`)
      })
    expect(duplicates).toEqual([])
  })
})
