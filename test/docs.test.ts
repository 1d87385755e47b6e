import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

// The documentation: every relative link and anchor resolves, and every option the constructor
// accepts is documented with its type and default.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PAGES = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** GitHub's heading anchors: lower case, punctuation dropped (but - and _), spaces to dashes, -1, -2 for repeats. */
function anchorsOf (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line)
    if (m === null) continue
    const slug = (m[1] as string).trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replaceAll(' ', '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return anchors
}

function linksOf (markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
}

function read (page: string): string {
  return readFileSync(path.join(ROOT, page), 'utf8')
}

describe('documentation links', () => {
  test('the pages exist: README, CONTRIBUTING, CHANGELOG and docs/ (api, stores, probe, security, faq)', () => {
    for (const page of ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'LICENSE', 'docs/api.md', 'docs/stores.md', 'docs/probe.md', 'docs/security.md', 'docs/faq.md']) {
      assert.ok(existsSync(path.join(ROOT, page)), page)
    }
  })

  for (const page of PAGES) {
    test(`${page}: every relative link names a file that exists and an anchor that it has`, () => {
      let checked = 0
      for (const link of linksOf(read(page))) {
        if (/^[a-z]+:/i.test(link)) continue
        const [file, anchor] = link.split('#') as [string, string | undefined]
        const target = file === '' ? page : path.normalize(path.join(path.dirname(page), file))
        assert.ok(existsSync(path.join(ROOT, target)), `${page}: ${link} -> ${target} does not exist`)
        if (anchor !== undefined && target.endsWith('.md')) {
          assert.ok(anchorsOf(read(target)).has(anchor), `${page}: ${link}: ${target} has no heading #${anchor}`)
        }
        checked += 1
      }
      if (page !== 'CHANGELOG.md') assert.ok(checked > 0, `${page} links somewhere`)
    })
  }

  test('a broken anchor is caught (the checker itself can fail)', () => {
    assert.ok(anchorsOf('# API reference\n### connect\n## new TlsFallbackAgent(options?)\n').has('new-tlsfallbackagentoptions'))
    assert.ok(!anchorsOf('# API reference\n').has('connect'))
    assert.deepEqual(linksOf('see [a](b.md#c) and `[x](y)` and [d](#e)'), ['b.md#c', '#e'])
  })
})

describe('every option is documented', () => {
  const options = readFileSync(path.join(ROOT, 'src/options.ts'), 'utf8')
  const api = read('docs/api.md')
  const keysOf = (name: string): string[] => {
    const m = new RegExp(`const ${name} = new Set(?:<string>)?\\(\\[([^\\]]*)\\]`).exec(options)
    assert.ok(m !== null, name)
    return [...(m[1] as string).matchAll(/'([^']+)'/g)].map((k) => k[1] as string)
  }

  test('each agent option has a section in docs/api.md with Type: and Default:', () => {
    const keys = keysOf('OWN_KEYS')
    assert.ok(keys.includes('proxy') && keys.includes('replayNonIdempotent'), keys.join(','))
    for (const key of keys) {
      const at = api.indexOf(`\n### ${key}\n`)
      assert.ok(at >= 0, `docs/api.md has no "### ${key}"`)
      const section = api.slice(at + 1, api.indexOf('\n### ', at + 1))
      assert.match(section, /^Type: /m, `${key}: Type`)
      assert.match(section, /^Default: /m, `${key}: Default`)
    }
  })

  test('each hosts[...] option is listed under hosts with its type and default', () => {
    const at = api.indexOf('\n### hosts\n')
    const section = api.slice(at, api.indexOf('\n### ', at + 1))
    for (const key of keysOf('HOST_KEYS')) {
      assert.match(section, new RegExp(`^- \`${key}\` — Type: .*Default:`, 'ms'), `hosts[...].${key}`)
    }
  })

  test('each undici Agent option that passes through is named', () => {
    const at = api.indexOf('\n### undici Agent options\n')
    const section = api.slice(at, api.indexOf('\n## ', at + 1))
    for (const key of keysOf('UNDICI_KEYS')) assert.ok(section.includes(`\`${key}\``), key)
  })
})

describe('every export and every warning code is documented', () => {
  const api = read('docs/api.md')
  const documented = `${api}\n${read('docs/stores.md')}\n${read('docs/observability.md')}`

  test('each name src/index.ts and src/opentelemetry/index.ts export, values and types, is named in docs/api.md, stores.md or observability.md', async () => {
    const names: string[] = []
    for (const entry of ['src/index.ts', 'src/opentelemetry/index.ts']) {
      for (const m of readFileSync(path.join(ROOT, entry), 'utf8').matchAll(/^export (?:type )?\{([^}]*)\}/gm)) {
        names.push(...(m[1] as string).split(',').map((n) => n.trim().split(/\s+as\s+/).pop() as string).filter((n) => n !== ''))
      }
    }
    // The value exports, as the package exports them at run time: the list above misses none.
    const runtime = Object.keys(await import('../src/index.ts'))
    for (const name of runtime) assert.ok(names.includes(name), `${name} is exported`)
    assert.ok(names.length > 40, `${names.length} names`)
    for (const name of names) assert.ok(documented.includes(`\`${name}`), `${name} is not documented`)
    // The OpenTelemetry entry point's semconv constants: documented as groups, each value in the tables.
    const otel = await import('../src/opentelemetry/index.ts') as Record<string, unknown>
    const observability = read('docs/observability.md')
    for (const [name, value] of Object.entries(otel)) {
      if (names.includes(name) || observability.includes(`\`${name}\``)) continue
      const group = /^(METRIC|ATTR|EVENT)_/.exec(name)?.[1]
      assert.ok(group !== undefined, `${name} is exported by undici-tls-fallback/opentelemetry and not documented`)
      assert.ok(observability.includes(`\`${group}_*\``), `the ${group}_* constants are named`)
      assert.ok(observability.includes(String(value)), `${name}'s value ${String(value)} is in docs/observability.md`)
    }
    for (const value of ['ErrorCodes', 'CHANNELS', 'FINGERPRINTS', 'STACKS', 'DEFAULT_FALLBACK', 'diagnose']) {
      assert.match(api, new RegExp(`^\\| \`${value}[\`(]`, 'm'), `${value} has a row in the Exports table`)
    }
  })

  test('each TLS_FALLBACK_* code in src/ (errors and warnings) is in docs/api.md; each warning code in its Warnings table', () => {
    const codes = new Set<string>()
    const warningCodes = new Set<string>()
    for (const file of readdirSync(path.join(ROOT, 'src'), { recursive: true }).map(String).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(path.join(ROOT, 'src', file), 'utf8')
      for (const m of text.matchAll(/'(TLS_FALLBACK_[A-Z_]+)'/g)) codes.add(m[1] as string)
      for (const m of text.matchAll(/(?:emitWarning|notice|noticeOnce)\([^;]*?'(TLS_FALLBACK_[A-Z_]+)'/gs)) warningCodes.add(m[1] as string)
    }
    assert.ok(warningCodes.has('TLS_FALLBACK_STORE') && warningCodes.has('TLS_FALLBACK_TRANSITION'), [...warningCodes].join(','))
    const warnings = api.slice(api.indexOf('\n## Warnings\n'), api.indexOf('\n## Errors\n'))
    assert.ok(warnings.length > 20, 'a Warnings section before Errors')
    for (const code of codes) assert.ok(api.includes(`\`${code}\``), `${code} is not in docs/api.md`)
    for (const code of warningCodes) assert.ok(warnings.includes(`\`${code}\``), `${code} is not in the Warnings table`)
  })
})

describe('the FAQ answers "what does it cost" for users', () => {
  test('one short paragraph that links the bench results, without V8 internals', () => {
    const faq = read('docs/faq.md')
    const answer = faq.split(/\n\s*\n/).filter((p) => p.includes('What does the agent cost'))
    assert.equal(answer.length, 1, 'one paragraph')
    const text = answer[0] as string
    assert.ok(text.split(/\s+/).length <= 130, `${text.split(/\s+/).length} words`)
    assert.ok(linksOf(text).includes('../bench/RESULTS.md'), 'links bench/RESULTS.md')
    for (const internal of [/pretenur/i, /young generation/i, /old generation/i, /scaveng/i, /allocation.site/i, /callgrind/i, /instructions per/i, /hash/i]) {
      assert.doesNotMatch(text, internal)
    }
  })
})
