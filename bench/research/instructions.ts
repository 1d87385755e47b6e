// Scenario 1, counted instead of timed: instructions per small GET, each contender's load process
// run under valgrind's callgrind with V8 in predictable mode. A count does not depend on how busy the
// machine is, and the same seed gives the same count; what still moves it is the state V8's JIT and
// heap reach in a process, which a different seed changes. So every round is a fresh process with a
// seed of its own, and the ratios carry the spread between seeds.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { categories, CATEGORIES, libraryFunctions, parsePart, parsePerfMap, type Category } from './callgrind.ts'
import { BASELINE, LOAD_PROCESS_FLAGS } from '../fast-path.ts'
import { baseline, log, median, pairedRatios, REWARM, summarize, summarizeRatios, type RatioSummary, type Summary } from '../harness.ts'
import { canPin, pin, startWorker } from '../ipc.ts'

export interface InstructionsConfig {
  contenders: string[]
  /** Rounds: one fresh process per contender each, with the round's seed. */
  rounds: number
  /** Requests before the measured part (connections opened, code compiled). */
  warmup: number
  /** Requests in the measured part. */
  requests: number
  /** Requests in flight. */
  concurrency: number
  /** Processes under valgrind at once (each runs on one core: valgrind serializes a process's threads). */
  parallel: number
}

/** What a contender's measured requests did, besides instructions: connections opened (none expected) and errors. */
interface Outcome {
  contender: string
  /** Instructions per request in each kind of code (self cost; see bench/research/callgrind.ts). */
  categories: Record<Category, number>
  /** The library's own functions and their instructions per request, highest first. */
  library: Array<{ name: string, instructions: number }>
  connections: number
  /** Full (mark-compact) collections during the measured requests. */
  majorGcs: number
  errors: number
  firstError?: string | undefined
}

/** One process's measured part. */
export interface InstructionsSample extends Outcome {
  round: number
  seed: number
  perRequest: number
}

/** A contender over every round; its categories and functions are medians over rounds. */
export interface InstructionsRow extends Outcome {
  /** Instructions per request, one value per round. */
  values: number[]
  summary: Summary
  /** Per-round ratio to the plain Agent of the same round (the mean of both when the A/A control ran). */
  ratio: RatioSummary
}

export interface InstructionsResult {
  rows: InstructionsRow[]
  /** The second plain Agent over the first, round by round (the A/A control), when it ran. */
  control?: RatioSummary | undefined
  settings: string
  /** Why nothing was measured (valgrind missing), when nothing was. */
  skipped?: string | undefined
  samples: InstructionsSample[]
}

/** The seed of a contender's process in a round: the same for every contender, except the A/A control's second Agent (`agent#2`: `1000 * 2` more), which would otherwise repeat the first one's count exactly. */
export function seedFor (contender: string, round: number): number {
  const instance = Number(contender.split('#')[1] ?? 0)
  return round + 1 + 1000 * instance
}

export function hasValgrind (): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * valgrind's arguments for one contender's process in a round: callgrind with the marks, then Node
 * with the round's seed. Pure, so that a test holds the flags the count depends on (dbfe603 dropped
 * the seed without anyone noticing: every process then ran with the one --predictable fixes).
 */
export function callgrindArgs (contender: string, round: number, origin: string, config: InstructionsConfig, dir: string): string[] {
  const seed = seedFor(contender, round)
  return [
    '--tool=callgrind',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    // Each os.userInfo() in the child ends a part: part 2 is the measured requests alone.
    '--dump-before=uv_os_get_passwd',
    '--dump-instr=no',
    '--dump-line=no',
    '--compress-strings=no',
    '--compress-pos=no',
    process.execPath,
    // The young generation's size, fixed as in every load process. Without it V8 sized it by the
    // process's history, and that set the old generation's limit after the forced collection. In
    // 1df0117's full run every TlsFallbackAgent process ran a full collection inside the measured
    // requests and no plain Agent process did, so the count read 1.97 times the Agent's; under
    // valgrind with seed 1, TlsFallbackAgent's new space was 32 MiB at the forced collection (old
    // generation limit 60 MB), the Agent's 64 MiB (92 MB). With the flags, neither ran one.
    ...LOAD_PROCESS_FLAGS,
    // Predictable: no background compilation or GC threads, a fixed GC schedule; the seed sets the rest.
    '--predictable',
    // A full collection before the measured requests (the child calls gc()): see instructions-child.ts.
    '--expose-gc',
    // The round's seed: without it, --predictable alone gives every process the same one.
    `--random-seed=${seed}`,
    // The names of JavaScript functions, for the library's share (written into dir; measureOnce removes it).
    '--perf-basic-prof-only-functions',
    `--perf-basic-prof-path=${dir}`,
    new URL('./instructions-child.ts', import.meta.url).pathname,
    contender, origin, String(config.warmup), String(config.requests), String(config.concurrency)
  ]
}

export async function measureOnce (contender: string, round: number, origin: string, config: InstructionsConfig): Promise<InstructionsSample> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-callgrind-'))
  const seed = seedFor(contender, round)
  try {
    const child = spawn('valgrind', callgrindArgs(contender, round, origin, config, dir), { stdio: ['ignore', 'pipe', 'pipe'] })
    // The bench pins itself to the client's CPU, and a child inherits that: these processes may use
    // every CPU (the count does not depend on where they run, and two run at once). os.cpus(), not
    // availableParallelism(): the latter counts the CPUs this process is pinned to.
    if (canPin && child.pid !== undefined) pin(child.pid, `0-${cpus().length - 1}`)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
    // A process that hangs (a server gone, say) must not hang the bench: 15 minutes is ten times a full run's process.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000)
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (exitCode) => resolve(exitCode))
    }).finally(() => clearTimeout(timer))
    if (code !== 0) throw new Error(`instructions: ${contender} (seed ${seed}) exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`)
    const files = readdirSync(dir)
    // Exactly two marks: a third part would mean something else called os.userInfo() and cut the measured part.
    if (!files.includes('callgrind.out.2') || files.includes('callgrind.out.3')) {
      throw new Error(`instructions: ${contender} (seed ${seed}) left ${files.join(', ')}, not two marked parts`)
    }
    const part = parsePart(readFileSync(join(dir, 'callgrind.out.2'), 'utf8'))
    const mapFile = files.find((f) => /^perf-\d+\.map$/.test(f))
    const perfMap = mapFile === undefined ? undefined : parsePerfMap(readFileSync(join(dir, mapFile), 'utf8'))
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { requests: number, connections: number, majorGcs: number, errors: number, firstError?: string }
    const per = (n: number): number => n / report.requests
    const byCategory = categories(part, perfMap)
    return {
      contender,
      round,
      seed,
      perRequest: per(part.total),
      categories: Object.fromEntries(CATEGORIES.map((c) => [c, per(byCategory[c])])) as Record<Category, number>,
      library: libraryFunctions(part, perfMap).slice(0, 12).map((f) => ({ name: f.name, instructions: per(f.instructions) })),
      connections: report.connections,
      majorGcs: report.majorGcs,
      errors: report.errors,
      firstError: report.firstError
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs `jobs` with at most `parallel` at a time, results in the jobs' order. */
async function pool<T> (jobs: Array<() => Promise<T>>, parallel: number): Promise<T[]> {
  const results = new Array<T>(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await (jobs[i] as () => Promise<T>)()
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker))
  return results
}

function medianOf (samples: InstructionsSample[], pick: (s: InstructionsSample) => number): number {
  return median(samples.map(pick))
}

/** Each contender's row, its ratios paired with the plain Agent (or the mean of both) of the same round. */
export function instructionRows (contenders: string[], samples: InstructionsSample[], rounds: number): InstructionsRow[] {
  const measured: Record<string, InstructionsSample[]> = {}
  for (const name of contenders) {
    const list = samples.filter((s) => s.contender === name).sort((a, b) => a.round - b.round)
    if (list.length !== rounds) throw new Error(`instructions: ${name} has ${list.length} rounds, not ${rounds}`)
    measured[name] = list
  }
  const base = baseline(contenders, measured, (s) => s.perRequest, BASELINE)
  return contenders.map((name) => {
    const list = measured[name] as InstructionsSample[]
    const values = list.map((s) => s.perRequest)
    const names = new Set(list.flatMap((s) => s.library.map((f) => f.name)))
    const library = [...names]
      .map((fn) => ({ name: fn, instructions: median(list.map((s) => s.library.find((f) => f.name === fn)?.instructions ?? 0)) }))
      .filter((f) => f.instructions > 0)
      .sort((a, b) => b.instructions - a.instructions)
      .slice(0, 10)
    const firstError = list.find((s) => s.firstError !== undefined)?.firstError
    return {
      contender: name,
      values,
      summary: summarize(values),
      ratio: summarizeRatios(pairedRatios(values, base)),
      categories: Object.fromEntries(CATEGORIES.map((c) => [c, medianOf(list, (s) => s.categories[c])])) as Record<Category, number>,
      library,
      connections: list.reduce((sum, s) => sum + s.connections, 0),
      majorGcs: list.reduce((sum, s) => sum + s.majorGcs, 0),
      errors: list.reduce((sum, s) => sum + s.errors, 0),
      ...(firstError === undefined ? {} : { firstError })
    }
  })
}

export async function runInstructions (config: InstructionsConfig): Promise<InstructionsResult> {
  const contenders = [BASELINE, ...config.contenders.filter((c) => c !== BASELINE)]
  const settings = `${config.requests.toLocaleString('en-US')} small GETs measured after ${config.warmup.toLocaleString('en-US')} of warm-up, ` +
    `${config.concurrency} in flight, ${config.rounds} round${config.rounds === 1 ? '' : 's'} (one fresh process per contender and round, its own seed), ` +
    `valgrind --tool=callgrind, node ${LOAD_PROCESS_FLAGS.join(' ')} --predictable --expose-gc --random-seed=<round + 1>; ` +
    `a forced full collection with requests in flight and ${Math.min(config.warmup, REWARM).toLocaleString('en-US')} more requests before the measured ones`
  if (!hasValgrind()) {
    log('instructions: skipped, valgrind is not installed (apt-get install valgrind)')
    return { rows: [], settings, skipped: 'valgrind is not installed', samples: [] }
  }
  log(`instructions: ${contenders.join(', ')}; ${settings}`)
  const server = await startWorker(new URL('../server.ts', import.meta.url))
  try {
    const { port } = await server.call<{ port: number }>('start', { kind: 'fast' })
    const origin = `https://localhost:${port}`
    const jobs = []
    for (let round = 0; round < config.rounds; round++) {
      for (const contender of contenders) {
        jobs.push(async () => {
          const sample = await measureOnce(contender, round, origin, config)
          const share = (c: Category): string => `${Math.round(sample.categories[c] / sample.perRequest * 100)}%`
          log(`instructions: round ${round + 1}/${config.rounds} ${contender} (seed ${sample.seed}): ${Math.round(sample.perRequest).toLocaleString('en-US')} per request (${sample.majorGcs} full GCs, GC ${share('gc')}, compilation ${share('compiler')}, the library ${share('library')})`)
          return sample
        })
      }
    }
    const samples = await pool(jobs, config.parallel)
    const rows = instructionRows(contenders, samples, config.rounds)
    const a = rows.find((r) => r.contender === BASELINE)
    const b = rows.find((r) => r.contender === `${BASELINE}#2`)
    const control = a === undefined || b === undefined ? undefined : summarizeRatios(pairedRatios(b.values, a.values))
    return { rows, control, settings, samples }
  } finally {
    await server.stop()
  }
}
