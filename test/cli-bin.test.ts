import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { startModern } from './servers/modern.ts'
import { certs } from './helpers.ts'

// The CLI as installed: the package built (tsc, as `npm run build` does) into a folder of its own,
// with a copy of package.json beside it as in the tarball, and run as a process through its bin.
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
  execFileSync(`${ROOT}node_modules/.bin/tsc`, ['-p', `${ROOT}tsconfig.json`, '--outDir', `${PACKAGE}dist`, '--declaration', 'false', '--sourceMap', 'false'])
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
