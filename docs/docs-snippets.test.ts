/**
 * Typechecks every ```ts block of the docs (docs/**\/*.md and the root README.md) against the
 * workspace sources, so a renamed option or a wrong signature in the docs fails CI.
 *
 * Each block is written to its own module under docs/.snippets/<run>/ (inside the repo, so that
 * `@do-sdk/*` resolves through tsconfig.base.json's paths to the sources, and git-ignored) and the
 * whole set is checked in one TypeScript program. A block must therefore be self-contained: its own
 * imports, and `declare const x: T` for what it leaves out. A block whose info string is
 * `ts nocheck` is skipped; `ts file=name.ts` saves the block under that name, so that the other
 * blocks of its page can import it (see docs/README.md).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const docsDir = join(root, 'docs')
const SKIP_DIRS = new Set(['node_modules', 'api', '.snippets'])

interface Block {
  /** Markdown file, relative to the repo root. */
  file: string
  /** 1-based number of the block among the file's code blocks of any language. */
  index: number
  /** 1-based line of the block's first code line in the Markdown file. */
  line: number
  code: string
  nocheck: boolean
  /** `file=name.ts` in the info string: the block is saved under that name, so other blocks of the page can import it. */
  name?: string
}

const markdownFiles = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = join(dir, name)
      if (statSync(full).isDirectory()) return SKIP_DIRS.has(name) ? [] : markdownFiles(full)
      return name.endsWith('.md') ? [full] : []
    })

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/

/** The fenced code blocks of a Markdown file; ts / typescript ones are returned. */
const extractBlocks = (file: string, text: string): Block[] => {
  const lines = text.split(/\r?\n/)
  const blocks: Block[] = []
  let index = 0
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string)
    if (!open) continue
    const [, indent = '', fence = '', lang = '', meta = ''] = open
    index++
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const line = lines[j] as string
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart())
    }
    if (lang === 'ts' || lang === 'typescript') {
      // A `.test.ts` name would be collected by the test runner while it exists: keep those numbered.
      const name = /\bfile=([\w.-]+\.ts)\b/.exec(meta)?.[1]?.replace(/\.(test|spec)\.ts$/, '.$1-snippet.ts')
      blocks.push({ file, index, line: i + 2, code: body.join('\n'), nocheck: /\bnocheck\b/.test(meta), name })
    }
    i = j
  }
  return blocks
}

const files = [...markdownFiles(docsDir), join(root, 'README.md')]
const blocks = files.flatMap((f) => extractBlocks(relative(root, f).split(sep).join('/'), readFileSync(f, 'utf8')))
const checked = blocks.filter((b) => !b.nocheck)

// Bare imports of a snippet (zod, express, keyv…) resolve from the workspace packages that depend on
// them, as they would in an app that installed them.
const fallbackDirs = ['packages', 'examples'].flatMap((d) =>
  readdirSync(join(root, d))
    .sort((a, b) => (a === 'core' ? -1 : b === 'core' ? 1 : a.localeCompare(b)))
    .map((name) => join(root, d, name)),
)

const snippetDir = join(docsDir, '.snippets', `${process.pid}-${Date.now().toString(36)}`)
// One folder per Markdown file: a block can import another block of its page by its `file=` name.
const fileOf = (b: Block) => join(snippetDir, b.file.replace(/[/.]/g, '_'), b.name ?? `block-${b.index}.ts`)
const diagnostics = new Map<Block, string[]>()

beforeAll(() => {
  const byPath = new Map<string, Block>()
  for (const b of checked) {
    mkdirSync(dirname(fileOf(b)), { recursive: true })
    // `export {}` makes every block a module: its names do not clash with other blocks', and top-level await works.
    writeFileSync(fileOf(b), `${b.code}\nexport {}\n`)
    byPath.set(resolve(fileOf(b)), b)
  }
  const config = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile)
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const compilerOptions: ts.CompilerOptions = { ...options, noEmit: true, declaration: false, baseUrl: undefined }
  const host = ts.createCompilerHost(compilerOptions)
  const resolveOne = (name: string, containingFile: string): ts.ResolvedModuleWithFailedLookupLocations => {
    const direct = ts.resolveModuleName(name, containingFile, compilerOptions, host)
    if (direct.resolvedModule || name.startsWith('.') || !byPath.has(resolve(containingFile))) return direct
    for (const dir of fallbackDirs) {
      const viaPackage = ts.resolveModuleName(name, join(dir, 'index.ts'), compilerOptions, host)
      if (viaPackage.resolvedModule) return viaPackage
    }
    return direct
  }
  host.resolveModuleNameLiterals = (literals, containingFile) => literals.map((l) => resolveOne(l.text, containingFile))
  const program = ts.createProgram({ rootNames: [...byPath.keys()], options: compilerOptions, host })
  for (const source of program.getSourceFiles()) {
    const block = byPath.get(resolve(source.fileName))
    if (!block) continue
    const found = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    diagnostics.set(
      block,
      found.map((d) => {
        const pos = d.start === undefined ? undefined : source.getLineAndCharacterOfPosition(d.start)
        const where = pos ? `${block.file}:${block.line + pos.line}:${pos.character + 1}` : block.file
        return `${where} (block #${block.index}) TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
      }),
    )
  }
}, 60_000)

afterAll(() => {
  rmSync(snippetDir, { recursive: true, force: true })
})

describe('docs code blocks typecheck', () => {
  it('finds the blocks', () => {
    expect(checked.length).toBeGreaterThan(20)
  })

  for (const file of [...new Set(checked.map((b) => b.file))]) {
    it(file, () => {
      const problems = checked.filter((b) => b.file === file).flatMap((b) => diagnostics.get(b) ?? [`block #${b.index}: not checked`])
      expect(problems.join('\n')).toBe('')
    })
  }
})
