// Runs undici's own test files (vendored in ./upstream, MIT: see upstream/LICENSE and README.md)
// against the installed undici with TlsFallbackAgent swapped in for `Agent` and as the global
// dispatcher, and with a plain subclass of undici's Agent (the control: run, or stored in
// ./control.json). Reports how many of the tests that pass on the control also pass with
// TlsFallbackAgent, and fails when one is lost that ./differences.json does not list (a
// documented, deliberate difference: docs/api.md).
//
//   node test/conformance/run.mjs [--json out.json] [--src other/src/index.ts] [--concurrency n]
//     [--control-from control.json | --write-control control.json] [files...]
//
// --write-control runs only the control and stores it with the undici and Node versions it ran on
// (`npm run conformance:control` refreshes ./control.json); --control-from reuses a stored control
// instead of running it again (`npm run conformance`), and refuses one recorded on another undici
// version, Node major or set of files.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..', '..')
const tests = join(here, 'upstream', 'test')
const args = process.argv.slice(2)
/** Removes `--name value` from args and returns value (undefined when absent). */
function option (name) {
  const at = args.indexOf(name)
  return at === -1 ? undefined : args.splice(at, 2)[1]
}
const jsonOut = option('--json')
// --src <path of another checkout's src/index.ts>: count what that version keeps (the control is the same).
const src = option('--src')
const controlFrom = option('--control-from')
const controlTo = option('--write-control')
// Files mostly wait on sockets and timers: more than one per core keeps the cores busy.
const concurrency = Number(option('--concurrency') ?? 4)
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency must be a positive integer')

const undiciVersion = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('undici/package.json'), 'utf8')).version
const nodeMajor = process.versions.node.split('.')[0]

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

/** Files killed at FILE_TIMEOUT: each costs the run that long. */
const killed = new Set()

async function runFile (mode, file) {
  const child = spawn(process.execPath, [
    '--import', join(here, 'register.mjs'),
    // Some of undici's files (fetch-leak, eventsource) call gc(), as undici's own npm scripts allow.
    '--expose-gc',
    '--test', '--test-timeout=20000',
    '--test-reporter', join(here, 'reporter.mjs'),
    file
  ], { cwd: root, env: { ...process.env, UNDICI_CONFORMANCE_AGENT: mode, ...(src === undefined ? {} : { UNDICI_CONFORMANCE_SRC: src }) }, stdio: ['ignore', 'pipe', 'ignore'], detached: true })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => { out += chunk })
  // The whole process group: the test runner and the file's own process.
  const timer = setTimeout(() => {
    killed.add(`${relative(tests, file)} (${mode})`)
    try { process.kill(-child.pid, 'SIGKILL') } catch {}
  }, FILE_TIMEOUT)
  await new Promise((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  return out
}

async function run (mode, list = files, parallel = concurrency) {
  const results = new Map()
  const queue = [...list]
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
  await Promise.all(Array.from({ length: parallel }, worker))
  return results
}

/** The stored control, refused when it was recorded on another undici, Node major or set of files. */
function storedControl (path) {
  const stored = JSON.parse(readFileSync(path, 'utf8'))
  const refresh = 'Refresh it with `npm run conformance:control` (or run both: `node test/conformance/run.mjs`)'
  const problems = []
  if (stored.undici !== undiciVersion) problems.push(`it was recorded with undici ${stored.undici}, the installed undici is ${undiciVersion}`)
  if (stored.nodeMajor !== undefined && stored.nodeMajor !== nodeMajor) problems.push(`it was recorded on Node ${stored.nodeMajor}, this is Node ${nodeMajor}`)
  const missing = files.map((f) => relative(root, f)).filter((f) => !stored.files.includes(f))
  if (missing.length > 0) problems.push(`it has no results for ${missing.join(', ')}`)
  if (problems.length > 0) {
    console.error(`The stored control ${relative(root, path)} does not fit this run: ${problems.join('; ')}. ${refresh}.`)
    process.exit(2)
  }
  // Only the files of this run (the stored control may cover more).
  const inRun = new Set(files.map((f) => relative(tests, f)))
  return new Map(Object.entries(stored.control).filter(([key]) => inRun.has(key.slice(0, key.indexOf(' :: ')))).map(([key, ok]) => [key, { ok }]))
}

const started = Date.now()
if (controlTo !== undefined) {
  const control = await run('undici')
  writeFileSync(controlTo, JSON.stringify({
    undici: undiciVersion,
    nodeMajor,
    files: files.map((f) => relative(root, f)),
    control: Object.fromEntries([...control].map(([k, r]) => [k, r.ok]))
  }, null, 2) + '\n')
  const passing = [...control.values()].filter((r) => r.ok).length
  console.log(`control (undici ${undiciVersion}'s Agent, Node ${nodeMajor}): ${files.length} files, ${control.size} tests, ${passing} pass; written to ${relative(root, controlTo)} in ${Math.round((Date.now() - started) / 1000)} s`)
  if (killed.size > 0) console.log(`killed after ${FILE_TIMEOUT / 1000} s (left a handle open): ${[...killed].join(', ')}`)
  process.exit(0)
}
const control = controlFrom === undefined ? await run('undici') : storedControl(controlFrom)
const ours = await run('tls-fallback')
const differences = JSON.parse(readFileSync(join(here, 'differences.json'), 'utf8'))
const listed = new Map()
for (const [reason, keys] of Object.entries(differences)) for (const key of keys) listed.set(key, reason)

const passing = [...control].filter(([, r]) => r.ok).map(([key]) => key)
const fileOf = (key) => key.slice(0, key.indexOf(' :: '))
// A file can time out once on a loaded machine: the files with a loss that differences.json does
// not list run again, one at a time, and their second results count (the list is printed).
const retried = [...new Set(passing.filter((key) => ours.get(key)?.ok !== true && !listed.has(key)).map(fileOf))]
if (retried.length > 0) {
  const again = await run('tls-fallback', retried.map((f) => join(tests, f)), 1)
  for (const key of [...ours.keys()]) if (retried.includes(fileOf(key))) ours.delete(key)
  for (const [key, r] of again) ours.set(key, r)
}
const lost = passing.filter((key) => ours.get(key)?.ok !== true)
const unexpected = lost.filter((key) => !listed.has(key))
const nowPassing = [...listed.keys()].filter((key) => ours.get(key)?.ok === true)

console.log(`undici ${undiciVersion}'s tests: ${files.length} files, ${control.size} tests; ${passing.length} pass with undici's Agent (the control${controlFrom === undefined ? '' : `, stored in ${relative(root, controlFrom)}`})`)
console.log(`kept with TlsFallbackAgent: ${passing.length - lost.length}/${passing.length}`)
if (retried.length > 0) console.log(`ran again, one at a time, after a first run that lost tests: ${retried.join(', ')}`)
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
if (killed.size > 0) console.log(`\nkilled after ${FILE_TIMEOUT / 1000} s (left a handle open): ${[...killed].join(', ')}`)
console.log(`\n${Math.round((Date.now() - started) / 1000)} s`)
if (jsonOut !== undefined) {
  writeFileSync(jsonOut, JSON.stringify({
    undici: undiciVersion,
    nodeMajor,
    files: files.map((f) => relative(root, f)),
    control: Object.fromEntries([...control].map(([k, r]) => [k, r.ok])),
    ours: Object.fromEntries([...ours].map(([k, r]) => [k, { ok: r.ok, error: r.error }]))
  }, null, 2))
}
process.exitCode = unexpected.length > 0 ? 1 : 0
