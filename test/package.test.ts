import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startIisLike } from './servers/iis.ts'
import { startModern } from './servers/modern.ts'
import { certs } from './helpers.ts'

// The package as a new user gets it: built (tsc -p tsconfig.json, as `npm run build` does) into a
// folder of its own with a copy of package.json beside it, as in the tarball; the CLI runs as a
// process through its bin, and the README's Quick start imports the package by its name.
const ROOT = new URL('..', import.meta.url).pathname
const PACKAGE = `${ROOT}.tmp/cli-bin-${process.pid}/`
const BIN = `${PACKAGE}dist/cli/bin.js`
const CA = certs.path('ca.crt')

async function run (node: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(node, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code), stdout, stderr })
    })
  })
}
const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> => await run(process.execPath, args, env)

/** The machine's own Node when it is older than 22.19 (Debian 12's), else undefined. */
function olderNode (): string | undefined {
  for (const node of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
      const [major = 0, minor = 0] = version.slice(1).split('.').map(Number)
      if (major < 22 || (major === 22 && minor < 19)) return node
    } catch {}
  }
  return undefined
}

before(() => {
  mkdirSync(PACKAGE, { recursive: true })
  copyFileSync(`${ROOT}package.json`, `${PACKAGE}package.json`)
  execFileSync(`${ROOT}node_modules/.bin/tsc`, ['-p', `${ROOT}tsconfig.json`, '--outDir', `${PACKAGE}dist`])
})
after(() => { rmSync(PACKAGE, { recursive: true, force: true }) })

describe('the built bin: a new user\'s first commands', () => {
  const old = olderNode()
  test('on Node older than 22.19 it says which Node it needs, in one line, and exits 1 (no undici stack trace)', { skip: old === undefined ? 'no Node older than 22.19 on this machine' : false }, async () => {
    const result = await run(old as string, ['probe', 'https://localhost:1/'])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^undici-tls-fallback: needs Node\.js >= 22\.19 \(undici 8 does\); this is Node\.js v\d+\.\d+\.\d+\.\n$/)
    assert.equal(result.stdout, '')
  })

  test('--version prints the package\'s version', async () => {
    const result = await cli(['--version'])
    assert.equal(result.code, 0)
    assert.equal(result.stdout, 'undici-tls-fallback 0.1.0\n')
  })

  test('--help lists the commands (probe, policies) in a short help; probe --help has the probe\'s options', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const top = await cli(args)
      assert.equal(top.code, 0)
      assert.match(top.stdout, /^Usage: undici-tls-fallback <command> \[options\]/)
      assert.match(top.stdout, /^ {2}probe <url> /m)
      assert.match(top.stdout, /^ {2}policies /m)
      assert.ok(top.stdout.split('\n').length < 15, 'short')
    }
    const probe = await cli(['probe', '--help'])
    assert.equal(probe.code, 0)
    assert.match(probe.stdout, /--timeout MS/)
  })

  test('a usage error is one line and a pointer to --help (exit 2), not the whole help', async () => {
    const cases: Array<[string[], string]> = [
      [[], 'missing command: probe or policies'],
      [['frob'], 'unknown command: "frob" (commands: probe, policies)'],
      [['probe'], 'missing <url>'],
      [['probe', 'https://a.example/', '--timeout', '-5'], '--timeout must be a whole number of milliseconds from 1 to 600000, got "-5"'],
      [['probe', 'https://a.example/', '--timeout=0'], '--timeout must be a whole number of milliseconds from 1 to 600000, got "0"'],
      [['probe', 'https://a.example/', '--bogus\x1b[31m'], 'unknown option "--bogus\\u001b[31m"']
    ]
    for (const [args, message] of cases) {
      const result = await cli(args)
      assert.equal(result.code, 2, args.join(' '))
      const pointer = args[0] === 'probe' ? 'Run undici-tls-fallback probe --help for usage.' : 'Run undici-tls-fallback --help for usage.'
      assert.equal(result.stderr, `undici-tls-fallback: ${message}\n${pointer}\n`, args.join(' '))
      assert.equal(result.stdout, '')
    }
  })

  test('colour: none into a pipe; FORCE_COLOR turns it on; FORCE_COLOR=0 and NO_COLOR keep it off', async () => {
    const server = await startModern()
    try {
      const args = ['probe', `https://localhost:${server.port}/`, '--ca', CA]
      const esc = '\x1b['
      const plain = await cli(args, { FORCE_COLOR: undefined, NO_COLOR: undefined })
      assert.equal(plain.code, 0)
      assert.ok(!plain.stdout.includes(esc), 'no colour into a pipe')
      const forced = await cli(args, { FORCE_COLOR: '1', NO_COLOR: undefined })
      assert.ok(forced.stdout.includes(`${esc}32mverdict:${esc}0m`), forced.stdout)
      const forcedOverNoColor = await cli(args, { FORCE_COLOR: '1', NO_COLOR: '1' })
      assert.ok(forcedOverNoColor.stdout.includes(esc), 'FORCE_COLOR wins, as in Node')
      for (const env of [{ FORCE_COLOR: '0', NO_COLOR: undefined }, { FORCE_COLOR: 'false', NO_COLOR: undefined }]) {
        const off = await cli(args, env)
        assert.ok(!off.stdout.includes(esc), JSON.stringify(env))
      }
      // On a terminal (script(1) gives the bin a pseudo-terminal): colour, unless NO_COLOR is set.
      const inTerminal = async (env: NodeJS.ProcessEnv): Promise<string> => await new Promise((resolve) => {
        const command = [process.execPath, BIN, ...args, '--timeout', '20000'].map((a) => `'${a}'`).join(' ')
        execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined, TERM: 'xterm', ...env }, timeout: 60_000 }, (_error, stdout) => resolve(stdout))
      })
      const verdict = (out: string): string => out.split('\n').find((line) => line.includes('verdict:')) ?? ''
      assert.ok(verdict(await inTerminal({})).includes(`${esc}32mverdict:`), 'colour on a terminal')
      const noColor = verdict(await inTerminal({ NO_COLOR: '1' }))
      assert.match(noColor, /verdict: the strict stack works/)
      assert.ok(!noColor.includes(esc), 'NO_COLOR on a terminal')
    } finally {
      await server.close()
    }
  })
})

/** Every file under `dir`, relative to it. */
function filesUnder (dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
}

describe('what the package ships', () => {
  test('no source map points at a file the tarball leaves out (package.json files)', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { files: string[] }
    const shipped = (file: string): boolean => pkg.files.some((entry) => file === entry || file.startsWith(`${entry}/`))
    const maps = filesUnder(`${PACKAGE}dist`).filter((f) => f.endsWith('.map'))
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(`${PACKAGE}dist/${map}`, 'utf8')) as { sources: string[] }
      for (const source of sources) {
        const target = path.relative(PACKAGE, path.resolve(path.dirname(`${PACKAGE}dist/${map}`), source))
        assert.ok(shipped(target), `dist/${map} points at ${target}, which the tarball does not hold`)
      }
    }
    for (const js of filesUnder(`${PACKAGE}dist`).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
      const mapping = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(`${PACKAGE}dist/${js}`, 'utf8'))?.[1]
      if (mapping !== undefined) assert.ok(existsSync(path.resolve(path.dirname(`${PACKAGE}dist/${js}`), mapping)), `dist/${js} names a missing map`)
    }
  })

  test('the examples the shipped docs cite are in the repository, and the docs say so (the tarball does not hold them)', () => {
    const pages = ['README.md', ...readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    let cited = 0
    for (const page of pages) {
      for (const paragraph of readFileSync(`${ROOT}${page}`, 'utf8').split(/\n\s*\n/)) {
        for (const [file] of paragraph.matchAll(/examples\/[\w.-]+\.ts/g)) {
          cited += 1
          assert.ok(existsSync(`${ROOT}${file}`), `${page} cites ${file}, which does not exist`)
          assert.match(paragraph, /source repository/, `${page}: the paragraph citing ${file} says where it is`)
        }
      }
    }
    assert.ok(cited >= 2, 'the docs cite the examples')
  })
})

describe('the README\'s Quick start, run as pasted', () => {
  test('with its install line\'s packages and the PEM files beside it: the host falls back to renegotiation with its certificate, and the script ends', async () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8')
    const section = readme.slice(readme.indexOf('## Quick start'))
    const install = /```sh\n(npm install [^\n]+)\n```/.exec(section)?.[1]
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1]
    assert.ok(install !== undefined && code !== undefined, 'an install line and a js block')
    // Everything the snippet imports (but node: modules) is on the install line.
    const imported = [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1] as string).filter((m) => !m.startsWith('node:'))
    assert.deepEqual(imported.filter((m) => !install.split(' ').includes(m)), [], `${install} installs everything imported`)
    assert.match(section.slice(0, section.indexOf('```')), /ESM only[\s\S]*Node\.js >= 22\.19/)

    const server = await startIisLike()
    const folder = `${PACKAGE}quick-start/`
    try {
      mkdirSync(folder, { recursive: true })
      copyFileSync(CA, `${folder}corp-ca.pem`)
      copyFileSync(certs.path('client.crt'), `${folder}client.crt`)
      copyFileSync(certs.path('client.key'), `${folder}client.key`)
      // Only the host: erp.corp.example is this loopback server (the port is free-chosen).
      const script = code.replaceAll('https://erp.corp.example/', `https://localhost:${server.port}/`).replaceAll("'erp.corp.example'", "'localhost'")
      assert.notEqual(script, code)
      writeFileSync(`${folder}quick-start.mjs`, script)
      // Inside the built package: 'undici-tls-fallback' resolves to it by name, through its exports.
      const result = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
        execFile(process.execPath, ['quick-start.mjs'], { cwd: folder, timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr })
        })
      })
      assert.equal(result.code, 0, result.stderr)
      // pino writes through its own stream, so its line may come before or after the snippet's console.log.
      const lines = result.stdout.trim().split('\n')
      const printed = lines.filter((l) => !l.startsWith('{'))
      assert.equal(printed.length, 1, 'one line besides pino\'s')
      assert.match(printed[0] ?? '', /^200 /, 'prints the status and the body')
      const logged = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number, msg: string })
      assert.ok(logged.some((l) => l.level === 40 && /moved from the strict stack to the renegotiation stack/.test(l.msg)), 'pino logs the transition')
    } finally {
      await server.close()
    }
  })
})
