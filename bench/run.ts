// npm run bench: TlsFallbackAgent against a plain undici Agent, RetryAgent and a naive fallback, on
// loopback HTTPS servers it starts. Writes bench/RESULTS.md; `--json` prints one JSON object.
//
//   node bench/run.ts                  full run (about 8 minutes on 2 cores), writes bench/RESULTS.md
//   node bench/run.ts --json           the same, and the summary as one JSON object on stdout
//   node bench/run.ts --quick          CI smoke run (well under a minute), writes nothing unless --write
//   node bench/run.ts --only fast,memory   some scenarios (fast, recovery, burst, memory, proxy, auth); writes nothing unless --write
//                                          (small, bulk and latency name the fast path's parts: --only latency;
//                                          instructions, the callgrind count of bench/research/, runs only when named)
//   --out <file>      write the Markdown there instead of bench/RESULTS.md (implies --write)
//   --no-pin          do not pin the server and client processes to CPUs
//   --raw <file>      also write every measurement (each round of each contender) there, as JSON
//   --together        small-GET rounds with every contender in the same window, sharing the client CPU (by default one at a time)
//   --control         add the controls to the fast path (a second plain Agent: the noise floor; a plain
//                     Agent on the library's connector: what the evidence costs); a full run has the first
//   --contenders a,b  the fast path's contenders (agent is always there), such as agent,tls-fallback,tls-fallback-alt
//   --alt <index.ts>  add TlsFallbackAgent from another copy of the library (a change measured in the same run)
//   --profile <names> run these contenders' fast-path load processes with --cpu-prof (into .tmp/bench-profiles)
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runAuth, type AuthConfig } from './auth.ts'
import { runBurst, type BurstConfig } from './burst.ts'
import { CONTENDERS } from './contenders.ts'
import { FAST_PATH_PARTS, runFastPath, type FastPathConfig, type FastPathPart } from './fast-path.ts'
import { log } from './harness.ts'
import { runInstructions, type InstructionsConfig } from './research/instructions.ts'
import { canPin, pin } from './ipc.ts'
import { runMemory, type MemoryConfig } from './memory.ts'
import { runProxy, type ProxyConfig } from './proxy.ts'
import { runRecovery, type RecoveryConfig } from './recovery.ts'
import { machineMeta, markdown, summaryJson, type BenchResults } from './report.ts'

const SCENARIOS = ['fast', 'instructions', 'recovery', 'burst', 'memory', 'proxy', 'auth'] as const
type Scenario = typeof SCENARIOS[number]
// What a full run measures: the figures README.md and docs/ quote. The instruction count (callgrind,
// bench/research/instructions.ts) took about 12 of a full run's 25 minutes and explains a figure
// rather than gives one: --only instructions runs it.
// Windows authentication (auth) starts its own Apache and costs about 25 s.
const DEFAULT_SCENARIOS: readonly Scenario[] = ['fast', 'recovery', 'burst', 'memory', 'proxy', 'auth']

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    write: { type: 'boolean' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    control: { type: 'boolean', default: false },
    alt: { type: 'string' },
    contenders: { type: 'string' },
    profile: { type: 'string' },
    together: { type: 'boolean', default: false },
    raw: { type: 'string' },
    help: { type: 'boolean', default: false }
  },
  strict: true
})

if (values.help === true) {
  process.stderr.write('usage: node bench/run.ts [--json] [--quick] [--only fast,small,bulk,latency,instructions,recovery,burst,memory,proxy,auth] [--write|--no-write] [--out <file>] [--no-pin] [--together] [--raw <file>] [--control] [--contenders a,b] [--alt <index.ts>] [--profile <names>]\n')
  process.exit(0)
}

const only = values.only === undefined ? [...DEFAULT_SCENARIOS] : values.only.split(',').map((s) => s.trim())
const isPart = (name: string): name is FastPathPart => (FAST_PATH_PARTS as readonly string[]).includes(name)
for (const name of only) {
  if (!(SCENARIOS as readonly string[]).includes(name) && !isPart(name)) {
    throw new Error(`--only: unknown scenario ${name} (known: ${[...SCENARIOS, ...FAST_PATH_PARTS].join(', ')})`)
  }
}
// Parts of the fast path (small, bulk, latency) select the fast path with only those parts.
const parts = only.filter(isPart)
const selected = new Set(only.filter((name): name is Scenario => !isPart(name)))
if (parts.length > 0 && !selected.has('fast')) selected.add('fast')
const quick = values.quick === true
const complete = DEFAULT_SCENARIOS.every((s) => selected.has(s)) && (parts.length === 0 || only.includes('fast')) && values.alt === undefined && values.profile === undefined && values.contenders === undefined
// A full run of everything writes RESULTS.md; a quick or partial run only when asked.
const write = values['no-write'] !== true && (values.out !== undefined || (values.write ?? (!quick && complete)))
const pinning = values['no-pin'] !== true && canPin
if (values.alt !== undefined) process.env.BENCH_ALT_AGENT = values.alt

const contenders: string[] = values.contenders === undefined ? [...CONTENDERS] : values.contenders.split(',').map((c) => c.trim())
// A full run adds the A/A control: a second plain Agent (the noise floor). --control adds a plain
// Agent on the library's connector too (what the evidence costs, apart from the request path).
if (values.control === true) contenders.splice(1, 0, 'agent#2', 'agent-tracked')
else if (!quick && values.alt === undefined && values.contenders === undefined) contenders.splice(1, 0, 'agent#2')
if (values.alt !== undefined && !contenders.includes('tls-fallback-alt')) contenders.push('tls-fallback-alt')

const together = values.together === true
// In a full run, RetryAgent and the naive fallback are compared on the small GET only.
const smallOnly = values.contenders === undefined ? ['retry-agent', 'naive'] : undefined
const fastConfig: FastPathConfig = quick
  ? { contenders, rounds: 2, warmupMs: 300, windowMs: 250, concurrency: 32, latencyCount: 300, bulkWindowMs: 300, bulkConcurrency: 2, settleMs: 100, blocks: 1, together, smallBlocks: 1, pin: pinning }
  // 30 rounds or more: enough for a bootstrap interval of the median ratio that can tell 2% apart
  // when the machine allows it, in blocks, each with fresh load processes (a process keeps its own
  // bias, up to 10% either way, for its whole life): 10 blocks of 3 rounds for each part. Bulk and
  // latency had 5 blocks of 6 until 2026-12-05: bulk's A/A control read 0.860 [0.734-1.222] with 5,
  // and 1.001 [0.854-1.059] with 10 in the next run. With --together, the small GET runs every
  // contender in the same 1 s window, 15 blocks of 2.
  // Time (2 cores): a part takes about blocks × (1.5 s start + contenders × warm-up) + rounds ×
  // contenders × (window + settle). Until 2026-12-07 a full run took 25 minutes (1,526 s): 6
  // contenders everywhere, 1.5 s warm-ups, 750 ms bulk windows, 1,500 latency requests a round
  // (bulk alone 278 s, latency 136 s), and the instruction count (about 750 s). Now: small GET
  // 10 × (1.5 + 5 × 1) + 30 × 5 × 0.65 = 163 s; bulk with 3 contenders (smallOnly below)
  // 10 × (1.5 + 3 × 1) + 30 × 3 × 0.65 = 104 s; latency about 60 s (0.3 ms a request).
  : together
    ? { contenders, rounds: 30, warmupMs: 3000, windowMs: 1000, concurrency: 32, latencyCount: 1000, bulkWindowMs: 500, bulkConcurrency: 2, settleMs: 150, blocks: 10, together, smallBlocks: 15, smallOnly, pin: pinning }
    : { contenders, rounds: 30, warmupMs: 1000, windowMs: 500, concurrency: 32, latencyCount: 1000, bulkWindowMs: 500, bulkConcurrency: 2, settleMs: 150, blocks: 10, together, smallBlocks: 10, smallOnly, pin: pinning }
if (parts.length > 0 && !only.includes('fast')) fastConfig.parts = parts
if (values.profile !== undefined) {
  const dir = new URL('../.tmp/bench-profiles/', import.meta.url).pathname
  mkdirSync(dir, { recursive: true })
  fastConfig.profile = { contenders: values.profile.split(','), dir }
}
// Instructions per request under callgrind: the plain Agent (and its A/A second instance) and
// TlsFallbackAgent (and its --alt copy). Counts, not times: 5 rounds (5 seeds) carry the spread.
// Under valgrind, V8 was still compiling 10,000 requests in (117,000 instructions per request of
// compilation, against 4,500 after 20,000): 20,000 requests of warm-up. Each process runs about
// 100 s, two at a time. The quick run checks that it works.
const counted = contenders.filter((c) => c === 'agent' || c === 'agent#2' || c.startsWith('tls-fallback'))
const instructionsConfig: InstructionsConfig = quick
  ? { contenders: counted, rounds: 1, warmup: 1_000, requests: 300, concurrency: 32, parallel: 2 }
  : { contenders: counted, rounds: 5, warmup: 20_000, requests: 4_000, concurrency: 32, parallel: 2 }
const cpus = pinning ? { server: '0', client: '1' } : undefined
const recoveryConfig: RecoveryConfig = quick
  ? { rounds: 2, later: 5, load: { concurrency: 8, durationMs: 200, rounds: 2 }, cpus }
  : { rounds: 10, later: 30, load: { concurrency: 16, durationMs: 750, rounds: 8 }, cpus }
const burstConfig: BurstConfig = quick ? { size: 200, rounds: 1, cpus } : { size: 200, rounds: 6, cpus }
const proxyConfig: ProxyConfig = quick
  ? { rounds: 2, warmupMs: 300, windowMs: 250, concurrency: 32, settleMs: 100, blocks: 1, pin: pinning }
  : { rounds: 10, warmupMs: 1000, windowMs: 1000, concurrency: 32, settleMs: 300, blocks: 2, pin: pinning }
const authConfig: AuthConfig = quick
  ? { rounds: 2, warmupMs: 300, windowMs: 250, concurrency: 4, settleMs: 100 }
  : { rounds: 16, warmupMs: 1000, windowMs: 500, concurrency: 4, settleMs: 150 }
const memoryConfig: MemoryConfig = quick ? { sizes: [1_000, 100_000], repeats: 1 } : { sizes: [1_000, 100_000], repeats: 3 }

const started = performance.now()
// The clients of the recovery and burst scenarios run here: on the client's CPU.
if (pinning) pin(process.pid, '1')
const results: BenchResults = {
  meta: {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    durationS: 0,
    pinned: pinning,
    ...machineMeta(),
    command: `node bench/run.ts${process.argv.slice(2).length > 0 ? ' ' + process.argv.slice(2).join(' ') : ''}`
  }
}
log(`bench: ${quick ? 'quick' : 'full'} run of ${[...selected].join(', ')}; Node ${process.version}, undici ${results.meta.undici}${pinning ? ', pinned' : ''}`)
/** Runs one scenario and logs how long it took (what a change to its configuration costs). */
async function timed<T> (name: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now()
  const result = await fn()
  log(`bench: ${name} took ${((performance.now() - start) / 1000).toFixed(0)} s`)
  return result
}
if (selected.has('fast')) results.fastPath = await timed('fast path', async () => await runFastPath(fastConfig))
if (selected.has('instructions')) results.instructions = await timed('instructions', async () => await runInstructions(instructionsConfig))
if (selected.has('recovery')) results.recovery = await timed('recovery', async () => await runRecovery(recoveryConfig))
if (selected.has('burst')) results.burst = await timed('burst', async () => await runBurst(burstConfig))
if (selected.has('memory')) results.memory = await timed('memory', async () => await runMemory(memoryConfig))
if (selected.has('proxy')) results.proxy = await timed('proxy', async () => await runProxy(proxyConfig))
if (selected.has('auth')) results.auth = await timed('auth', async () => await runAuth(authConfig))
results.meta.durationS = (performance.now() - started) / 1000

if (write) {
  const path = values.out ?? new URL('./RESULTS.md', import.meta.url).pathname
  writeFileSync(path, markdown(results))
  log(`bench: wrote ${path}`)
}
if (values.raw !== undefined) {
  writeFileSync(values.raw, `${JSON.stringify(results, null, 1)}\n`)
  log(`bench: wrote every measurement to ${values.raw}`)
}
const summary = summaryJson(results)
if (values.json === true) {
  process.stdout.write(`${JSON.stringify(summary)}\n`)
} else {
  log(JSON.stringify(summary, null, 2))
}
log(`bench: done in ${results.meta.durationS.toFixed(1)} s`)
