// Scenarios 1 to 3: the known-good path. One server process, one load process per contender;
// every ratio is paired with the plain Agent of the same round. Rounds run one contender at a time,
// interleaved, the order rotated; with `together`, the small-GET rounds run every contender in the
// same window, sharing the client CPU.
import type { LatencyResult, LoadResult } from './client.ts'
import { baseline, BULK_BYTES, interleave, log, pairedRatios, sleep, summarize, summarizeRatios, type RatioSummary, type Summary } from './harness.ts'
import { canPin, startWorker, type Worker } from './ipc.ts'

export const FAST_PATH_PARTS = ['small', 'bulk', 'latency'] as const
export type FastPathPart = typeof FAST_PATH_PARTS[number]

export interface FastPathConfig {
  contenders: string[]
  rounds: number
  warmupMs: number
  /** Length of one measured window of the small-GET scenario. */
  windowMs: number
  concurrency: number
  latencyCount: number
  bulkWindowMs: number
  bulkConcurrency: number
  /**
   * The pause between two measured windows. Every load process runs on the same CPU; a process that
   * made garbage keeps collecting it on helper threads for a while after its window, and without the
   * pause that time was charged to whichever contender came next.
   */
  settleMs: number
  /** Server process on CPU 0, load processes on CPU 1 (when the machine allows it). */
  pin: boolean
  /** Blocks of rounds, each measured by fresh load processes (see Plan.blocks). */
  blocks: number
  /** The small-GET rounds with every contender's load in the same window (see Plan.together); false: one at a time, as bulk and latency. */
  together: boolean
  /** Blocks of the small-GET rounds. */
  smallBlocks: number
  /** The fast path's parts to run (all three by default). */
  parts?: FastPathPart[] | undefined
  /**
   * Contenders measured in the small GET only, not in bulk and latency (a full run: RetryAgent and
   * the naive fallback, which no goal compares against; each costs bulk and latency about 45 s).
   */
  smallOnly?: string[] | undefined
  /** Contenders whose load processes run with --cpu-prof, and where the profiles go. */
  profile?: { contenders: string[], dir: string } | undefined
}

export interface Row {
  contender: string
  /** The metric, one value per round. */
  values: number[]
  summary: Summary
  /** Per-round ratio to the baseline of the same round, with the bootstrap 95% interval of its median. */
  ratio: RatioSummary
  /** Client CPU per unit of work (µs per request, or per MiB), every thread of the load process. */
  cpu: Summary
  /** The same, one value per round. */
  cpuValues: number[]
  cpuRatio: RatioSummary
  /** The same for the main thread alone (GC helper threads excluded). */
  mainCpu: Summary
  mainCpuRatio: RatioSummary
  /** Main-thread GC pause per unit of work (µs per request, or per MiB). */
  gc: Summary
  /** Heap bytes allocated per unit of work (per request, or per MiB). */
  alloc: Summary
  /** Heap bytes the scavenges promoted to the old generation, per unit of work (absent in older raw files). */
  promoted?: Summary | undefined
  errors: number
  firstError?: string | undefined
  /** TLS handshakes during this contender's measured windows (the server's count; the client's own connections when contenders share a window). */
  handshakes: number
}

export interface ScenarioResult {
  id: string
  title: string
  unit: string
  cpuUnit: string
  /** The goal on the median ratio to the baseline. */
  goal: { op: '>=' | '<=', ratio: number }
  rows: Row[]
  /** The block (load processes) of each round; absent when one set of processes measured every round. */
  groups?: number[] | undefined
  settings: string
}

export interface Measured { value: number, p99?: number, cpu: number, mainCpu: number, gc: number, alloc: number, promoted?: number | undefined, errors: number, firstError?: string | undefined, handshakes: number }

/** A load result as one round's Measured: `value`, and CPU, GC and allocation per unit of work (requests, or MiB). */
export function measuredPer (r: LoadResult, units: number, value: number, handshakes = 0): Measured {
  const n = Math.max(1, units)
  return { value, cpu: r.cpuUs / n, mainCpu: r.mainCpuUs / n, gc: r.gcMs * 1000 / n, alloc: r.allocatedBytes / n, promoted: r.promotedBytes / n, errors: r.errors, firstError: r.firstError, handshakes }
}

/**
 * The warm-up and the measured round of a small-GET scenario (the fast path's and the proxy's):
 * keep-alive GETs for a while, as req/s, with the process's own new connections as its handshakes
 * (measureScenario replaces them with the server's count when contenders run one at a time).
 */
export function smallGetRounds (url: string, concurrency: number, warmupMs: number, windowMs: number): Pick<Plan, 'warm' | 'run'> {
  const args = { url, concurrency }
  return {
    warm: async (c) => await c.call('small', { ...args, durationMs: warmupMs }),
    run: async (c) => {
      const r = await c.call<LoadResult>('small', { ...args, durationMs: windowMs })
      return measuredPer(r, r.count, r.count / (r.elapsedMs / 1000), r.connections)
    }
  }
}

/** The contender every ratio is paired with: the plain Agent. */
export const BASELINE = 'agent'
/** The pause between starting a block's load processes and warming them up (see measureScenario). */
export const STARTUP_SETTLE_MS = 1500

/** A scenario measured in blocks of rounds, each block by fresh load processes. */
export interface Plan {
  server: Worker
  serverId: number
  contenders: string[]
  rounds: number
  /**
   * Groups of rounds; each block starts fresh load processes (and warms them up) and stops them at
   * its end. A process keeps its own bias for its whole life (how V8 sized its heap, how it
   * compiled the hot code): two processes running identical code differed by 10-30% for a whole
   * run. Several processes per contender average that out, and the interval draws them as groups.
   */
  blocks: number
  /**
   * Every contender's load runs in the same window, all load processes sharing the client CPU.
   * The VM's neighbours change how much CPU it gets from one second to the next (throughput moved
   * by 2x between windows a second apart); contenders measured one after the other each meet
   * another moment, contenders measured together meet the same one, and the kernel shares the CPU
   * between them fairly. The A/A control is tight that way (±3%), but six processes on one CPU
   * also put each one's heap and caches in a state it never has alone: TlsFallbackAgent's ratio
   * moved from 0.8 to 2 with one V8 heap flag that left the plain Agent's where it was. An option
   * for what it shows, not the default.
   */
  together?: boolean | undefined
  settleMs: number
  /** The pause between starting a block's processes and warming them up; STARTUP_SETTLE_MS by default. */
  startupSettleMs?: number | undefined
  start: () => Promise<Map<string, Worker>>
  warm: (client: Worker) => Promise<unknown>
  run: (client: Worker) => Promise<Measured>
}

/** Each contender's per-round values, and the block each round belongs to. */
export interface Measurements {
  measured: Record<string, Measured[]>
  /** The block (load processes) of each round, for the grouped bootstrap. */
  groups: number[]
}

export async function measureScenario (plan: Plan): Promise<Measurements> {
  const { contenders, server, serverId } = plan
  const blocks = Math.max(1, Math.min(plan.blocks, plan.rounds))
  const measured: Record<string, Measured[]> = Object.fromEntries(contenders.map((c) => [c, []]))
  const groups: number[] = []
  let done = 0
  for (let block = 0; block < blocks; block++) {
    const size = Math.round(plan.rounds * (block + 1) / blocks) - done
    const clients = await plan.start()
    const client = (name: string): Worker => clients.get(name) as Worker
    try {
      // A new process works on in the background for a while (compiling, collecting what start-up
      // left): let that pass before any warm-up.
      await sleep(plan.startupSettleMs ?? STARTUP_SETTLE_MS)
      if (plan.together === true) {
        await Promise.all(contenders.map(async (name) => await plan.warm(client(name))))
        for (let round = 0; round < size; round++) {
          await sleep(plan.settleMs)
          // The run reports each process's own new connections as its handshakes.
          const results = await Promise.all(contenders.map(async (name) => await plan.run(client(name))))
          contenders.forEach((name, i) => (measured[name] as Measured[]).push(results[i] as Measured))
        }
      } else {
        // The warm-up order rotates with the block: the process warmed first did so beside the
        // others' start-up, and kept a smaller young generation (more collections, GC 1.4 µs/req
        // against 0.4) for the rest of its life. LOAD_PROCESS_FLAGS now fix that size; the
        // rotation stays, for whatever else the first one meets.
        const first = block % contenders.length
        for (const name of [...contenders.slice(first), ...contenders.slice(0, first)]) await plan.warm(client(name))
        const part = await interleave(contenders, size, async (name) => {
          const before = await server.call<{ handshakes: number }>('stats', { id: serverId })
          const m = await plan.run(client(name))
          const after = await server.call<{ handshakes: number }>('stats', { id: serverId })
          m.handshakes = after.handshakes - before.handshakes
          return m
        }, plan.settleMs, done)
        for (const name of contenders) (measured[name] as Measured[]).push(...(part[name] as Measured[]))
      }
    } finally {
      await stopClients(clients)
    }
    for (let i = 0; i < size; i++) groups.push(block)
    done += size
  }
  return { measured, groups }
}

/**
 * V8 flags of every load process: a young generation of one fixed size, V8's own maximum (32 MiB
 * semi-spaces, a 64 MiB new space: what a busy process grows to and keeps). V8 sizes the young
 * generation by what a process has lived through, so without them each process kept whatever size
 * its start-up and warm-up led to, and that decided its whole life:
 * - Bulk: a process with a 4-16 MiB new space freed the response chunks in scavenges (10-56 per
 *   400 ms window, no full collection: 1,060-1,340 MiB/s); one with 32-64 MiB, in full collections
 *   that external memory (the chunks) triggered, about every 52 MiB received (5-9 per window,
 *   marking the whole heap each time: 650-1,080 MiB/s). Which one a process got was chance.
 * - The A/A control's bulk ratio (`--only bulk --control`, 10 blocks of 3 rounds), as the sd of
 *   its log over rounds and of its block means: 0.169 and 0.148 without these flags; 0.098 and
 *   0.062 with 16 MiB semi-spaces; 0.110 and 0.076 with 32. Its interval: [0.857-1.073] without,
 *   [0.967-1.077] with 32. The small GET's A/A control with 32: 1.005 [0.937-1.064] in that run,
 *   0.981 [0.931-1.029] in the next full run, against 1.166 [0.914-1.496] in the full run before.
 * Measured on Node 24 (V8 13.6), where the new space starts at 32 MiB with these flags (1 MiB
 * without). Node 26's V8 starts it at 512 KiB either way and grows it up to the same limit.
 */
export const LOAD_PROCESS_FLAGS: readonly string[] = ['--min-semi-space-size=32', '--max-semi-space-size=32']

/**
 * A load process per contender, pinned to the client's CPU, with LOAD_PROCESS_FLAGS. Fresh processes
 * for each block of each part: the 16 MiB bodies of the bulk rounds, for one, left a heap
 * (large-object space, old generation limits) under which one process ran its latency rounds with
 * repeated major collections and another without, and the A/A control's p99 ratio moved by 20% with it.
 */
export async function startClients (contenders: string[], pinning: boolean, profile?: FastPathConfig['profile'], label = '', session = false): Promise<Map<string, Worker>> {
  const clients = new Map<string, Worker>()
  for (const name of contenders) {
    const profiled = profile?.contenders.includes(name) === true
    clients.set(name, await startWorker(new URL('./client.ts', import.meta.url), {
      args: [name],
      cpus: pinning ? '1' : undefined,
      session,
      execArgv: [...LOAD_PROCESS_FLAGS, ...(profiled ? ['--cpu-prof', '--cpu-prof-dir', (profile as { dir: string }).dir, '--cpu-prof-name', `${name.replace(/[^a-z0-9-]/gi, '_')}${label}.${Date.now()}.cpuprofile`] : [])]
    }))
  }
  return clients
}

export async function stopClients (clients: Map<string, Worker>): Promise<void> {
  await Promise.all([...clients.values()].map(async (c) => await c.stop()))
  clients.clear()
}

/** Each contender's row, its ratios paired with the baseline (`base`, the plain Agent by default) of the same round. */
export function rows (contenders: string[], { measured, groups }: Measurements, base = BASELINE): Row[] {
  const options = { groups }
  const baseValue = baseline(contenders, measured, (m) => m.value, base)
  const baseCpu = baseline(contenders, measured, (m) => m.cpu, base)
  const baseMainCpu = baseline(contenders, measured, (m) => m.mainCpu, base)
  return contenders.map((name) => {
    const m = measured[name] as Measured[]
    const values = m.map((x) => x.value)
    const cpu = m.map((x) => x.cpu)
    const mainCpu = m.map((x) => x.mainCpu)
    return {
      contender: name,
      values,
      summary: summarize(values),
      ratio: summarizeRatios(pairedRatios(values, baseValue), options),
      cpu: summarize(cpu),
      cpuValues: cpu,
      cpuRatio: summarizeRatios(pairedRatios(cpu, baseCpu), options),
      mainCpu: summarize(mainCpu),
      mainCpuRatio: summarizeRatios(pairedRatios(mainCpu, baseMainCpu), options),
      gc: summarize(m.map((x) => x.gc)),
      alloc: summarize(m.map((x) => x.alloc)),
      promoted: m.every((x) => typeof x.promoted === 'number') ? summarize(m.map((x) => x.promoted as number)) : undefined,
      errors: m.reduce((s, x) => s + x.errors, 0),
      firstError: m.find((x) => x.firstError !== undefined)?.firstError,
      handshakes: m.reduce((s, x) => s + x.handshakes, 0)
    }
  })
}

/**
 * The A/A control: the second plain Agent over the first, per round, with the bootstrap interval of
 * its median (undefined without the control). `pick` chooses the metric: the scenario's value, or
 * the client CPU per unit of work.
 */
export function controlRatio (scenario: ScenarioResult, pick: 'value' | 'cpu' = 'value'): RatioSummary | undefined {
  const a = scenario.rows.find((r) => r.contender === BASELINE)
  const b = scenario.rows.find((r) => r.contender === `${BASELINE}#2`)
  if (a === undefined || b === undefined) return undefined
  const options = { groups: scenario.groups }
  return pick === 'value' ? summarizeRatios(pairedRatios(b.values, a.values), options) : summarizeRatios(pairedRatios(b.cpuValues, a.cpuValues), options)
}

/** What one part of the fast path needs: the server, its origin, the contenders and the configuration. */
interface PartContext {
  server: Worker
  serverId: number
  origin: string
  contenders: string[]
  config: FastPathConfig
  pinning: boolean
}

/** The plan of one part: its rounds in blocks, each block with fresh load processes. */
function planFor (ctx: PartContext, part: FastPathPart, warm: Plan['warm'], run: Plan['run']): Plan {
  const together = part === 'small' && ctx.config.together
  return {
    server: ctx.server,
    serverId: ctx.serverId,
    contenders: ctx.contenders,
    rounds: ctx.config.rounds,
    blocks: part === 'small' ? ctx.config.smallBlocks : ctx.config.blocks,
    together,
    settleMs: ctx.config.settleMs,
    // Sharing a CPU in one window: each process in a session of its own gets an equal share (see WorkerOptions.session).
    start: async () => await startClients(ctx.contenders, ctx.pinning, ctx.config.profile, `.${part}`, together),
    warm,
    run
  }
}

async function runSmall (ctx: PartContext): Promise<ScenarioResult> {
  const { config, contenders } = ctx
  const together = config.together
  log(`fast path: small GET, ${config.concurrency} in flight, ${config.rounds} rounds of ${config.windowMs} ms ${together ? `with every contender in the same window, ${config.smallBlocks} blocks` : 'per contender'}`)
  const { warm, run } = smallGetRounds(`${ctx.origin}/small`, config.concurrency, config.warmupMs, config.windowMs)
  const small = await measureScenario(planFor(ctx, 'small', warm, run))
  return {
    id: 'small',
    title: '1. Fast path, small GET, keep-alive (req/s)',
    unit: 'req/s',
    cpuUnit: 'client CPU µs/req',
    goal: { op: '>=', ratio: 0.98 },
    rows: rows(contenders, small),
    groups: small.groups,
    settings: together
      ? `${config.concurrency} requests in flight per contender, HTTP/1.1 keep-alive, ${config.rounds} rounds × ${config.windowMs} ms; in each round every contender's load process runs in the same window, all of them sharing the client CPU ` +
        `(so a contender's req/s is its share of that CPU, about 1/${contenders.length} of what it does alone); ${config.smallBlocks} blocks of rounds, each with fresh load processes warmed up together for ${config.warmupMs} ms`
      : `${config.concurrency} requests in flight, HTTP/1.1 keep-alive, ${config.rounds} rounds × ${config.windowMs} ms per contender in ${config.smallBlocks} blocks, each with fresh load processes warmed up for ${config.warmupMs} ms`
  }
}

async function runBulk (ctx: PartContext): Promise<ScenarioResult> {
  const { config, contenders } = ctx
  log(`fast path: bulk, 16 MiB bodies, ${config.bulkConcurrency} in flight`)
  const args = { url: `${ctx.origin}/bulk`, concurrency: config.bulkConcurrency }
  const bulk = await measureScenario(planFor(ctx, 'bulk',
    async (c) => await c.call('bulk', { ...args, durationMs: config.warmupMs }),
    async (c) => {
      const r = await c.call<LoadResult>('bulk', { ...args, durationMs: config.bulkWindowMs })
      const mib = r.bytes / (1024 * 1024)
      if (r.bytes !== r.count * BULK_BYTES) r.errors += 1
      return measuredPer(r, mib, mib / (r.elapsedMs / 1000))
    }))
  return {
    id: 'bulk',
    title: '2. Fast path, bulk download of 16 MiB bodies (MiB/s)',
    unit: 'MiB/s',
    cpuUnit: 'client CPU µs/MiB',
    goal: { op: '>=', ratio: 0.95 },
    rows: rows(contenders, bulk),
    groups: bulk.groups,
    settings: `${config.bulkConcurrency} downloads in flight, ${config.rounds} rounds × ${config.bulkWindowMs} ms per contender in ${config.blocks} blocks of fresh load processes`
  }
}

async function runLatency (ctx: PartContext): Promise<ScenarioResult[]> {
  const { config, contenders } = ctx
  log(`fast path: latency, one request at a time, ${config.latencyCount} per round`)
  const args = { url: `${ctx.origin}/small` }
  const latency = await measureScenario(planFor(ctx, 'latency',
    async (c) => await c.call('latency', { ...args, count: Math.ceil(config.latencyCount / 2) }),
    async (c) => {
      const r = await c.call<LatencyResult>('latency', { ...args, count: config.latencyCount })
      return { ...measuredPer(r, r.count, r.p50), p99: r.p99 }
    }))
  const p99: Measurements = {
    measured: Object.fromEntries(contenders.map((c) => [c, (latency.measured[c] as Measured[]).map((m) => ({ ...m, value: m.p99 as number }))])),
    groups: latency.groups
  }
  const settings = `one request at a time, ${config.latencyCount} requests per round, ${config.rounds} rounds in ${config.blocks} blocks of fresh load processes; per-round percentile, median over rounds`
  return [{
    id: 'p50',
    title: '3a. Fast path, latency p50 (ms)',
    unit: 'ms',
    cpuUnit: 'client CPU µs/req',
    goal: { op: '<=', ratio: 1.03 },
    rows: rows(contenders, latency),
    groups: latency.groups,
    settings
  }, {
    id: 'p99',
    title: '3b. Fast path, latency p99 (ms)',
    unit: 'ms',
    cpuUnit: 'client CPU µs/req',
    goal: { op: '<=', ratio: 1.03 },
    rows: rows(contenders, p99),
    groups: p99.groups,
    settings
  }]
}

export async function runFastPath (config: FastPathConfig): Promise<ScenarioResult[]> {
  const contenders = [BASELINE, ...config.contenders.filter((c) => c !== BASELINE)]
  const pinning = config.pin && canPin
  const parts = new Set(config.parts ?? FAST_PATH_PARTS)
  const server = await startWorker(new URL('./server.ts', import.meta.url), { cpus: pinning ? '0' : undefined })
  try {
    const { id, port } = await server.call<{ id: number, port: number }>('start', { kind: 'fast' })
    const ctx: PartContext = { server, serverId: id, origin: `https://localhost:${port}`, contenders, config, pinning }
    const smallOnly = new Set(config.smallOnly ?? [])
    const rest: PartContext = { ...ctx, contenders: contenders.filter((c) => !smallOnly.has(c)) }
    const results: ScenarioResult[] = []
    if (parts.has('small')) results.push(await runSmall(ctx))
    if (parts.has('bulk')) results.push(await runBulk(rest))
    if (parts.has('latency')) results.push(...await runLatency(rest))
    return results
  } finally {
    await server.stop()
  }
}
