// Runs undici's own test files (vendored in ./upstream, MIT: see upstream/LICENSE and README.md)
// twice against the installed undici: with a plain subclass of undici's Agent (the control), and
// with TlsFallbackAgent swapped in for `Agent` and as the global dispatcher. Reports how many of the
// tests that pass on the control also pass with TlsFallbackAgent, and fails when one is lost that
// ./differences.json does not list (a documented, deliberate difference: docs/api.md).
//
//   node test/conformance/run.mjs [--json out.json] [--src other/src/index.ts] [--control-from out.json] [files...]
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..', '..')
const tests = join(here, 'upstream', 'test')
const args = process.argv.slice(2)
const jsonAt = args.indexOf('--json')
const jsonOut = jsonAt === -1 ? undefined : args.splice(jsonAt, 2)[1]
// --src <path of another checkout's src/index.ts>: count what that version keeps (the control is the same).
const srcAt = args.indexOf('--src')
const src = srcAt === -1 ? undefined : args.splice(srcAt, 2)[1]
// --control-from <a --json output>: reuse that run's control instead of running it again.
const controlAt = args.indexOf('--control-from')
const controlFrom = controlAt === -1 ? undefined : args.splice(controlAt, 2)[1]

function testFiles (dir) {
  const files = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      if (name !== 'utils' && name !== 'fixtures') files.push(...testFiles(path))
    } else if (name.endsWith('.js')) files.push(path)
  }
  return files.sort()
}

const files = args.length > 0 ? args.map((f) => join(root, f)) : testFiles(tests)

/** How long one file may run: a file that leaves a handle open never ends on its own. */
const FILE_TIMEOUT = 90_000

async function runFile (mode, file) {
  const child = spawn(process.execPath, [
    '--import', join(here, 'register.mjs'),
    '--test', '--test-timeout=20000',
    '--test-reporter', join(here, 'reporter.mjs'),
    file
  ], { cwd: root, env: { ...process.env, UNDICI_CONFORMANCE_AGENT: mode, ...(src === undefined ? {} : { UNDICI_CONFORMANCE_SRC: src }) }, stdio: ['ignore', 'pipe', 'ignore'], detached: true })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => { out += chunk })
  // The whole process group: the test runner and the file's own process.
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch {} }, FILE_TIMEOUT)
  await new Promise((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  return out
}

async function run (mode) {
  const results = new Map()
  const queue = [...files]
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const out = await runFile(mode, file)
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue
        const r = JSON.parse(line)
        if (r.skipped) continue
        let key = `${relative(tests, r.file)} :: ${r.name}`
        while (results.has(key)) key += ' (again)'
        results.set(key, r)
      }
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

const started = Date.now()
const control = controlFrom === undefined
  ? await run('undici')
  : new Map(Object.entries(JSON.parse(readFileSync(controlFrom, 'utf8')).control).map(([key, ok]) => [key, { ok }]))
const ours = await run('tls-fallback')
const differences = JSON.parse(readFileSync(join(here, 'differences.json'), 'utf8'))
const listed = new Map()
for (const [reason, keys] of Object.entries(differences)) for (const key of keys) listed.set(key, reason)

const passing = [...control].filter(([, r]) => r.ok).map(([key]) => key)
const lost = passing.filter((key) => ours.get(key)?.ok !== true)
const unexpected = lost.filter((key) => !listed.has(key))
const nowPassing = [...listed.keys()].filter((key) => ours.get(key)?.ok === true)

console.log(`undici's tests: ${files.length} files, ${control.size} tests; ${passing.length} pass with undici's Agent (the control)`)
console.log(`kept with TlsFallbackAgent: ${passing.length - lost.length}/${passing.length}`)
const byReason = new Map()
for (const key of lost) {
  const reason = listed.get(key) ?? 'NOT LISTED in differences.json'
  byReason.set(reason, [...(byReason.get(reason) ?? []), key])
}
for (const [reason, keys] of byReason) {
  console.log(`\n${keys.length} lost: ${reason}`)
  for (const key of keys) console.log(`  ${key}${listed.has(key) ? '' : `: ${ours.get(key)?.error ?? 'no result'}`}`)
}
if (nowPassing.length > 0) console.log(`\nlisted in differences.json but passing now (remove them): ${nowPassing.join('; ')}`)
console.log(`\n${Math.round((Date.now() - started) / 1000)} s`)
if (jsonOut !== undefined) {
  writeFileSync(jsonOut, JSON.stringify({
    files: files.map((f) => relative(root, f)),
    control: Object.fromEntries([...control].map(([k, r]) => [k, r.ok])),
    ours: Object.fromEntries([...ours].map(([k, r]) => [k, { ok: r.ok, error: r.error }]))
  }, null, 2))
}
process.exitCode = unexpected.length > 0 ? 1 : 0
