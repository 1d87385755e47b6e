// Scenarios 1 to 3: the known-good path. One server process, one load process per contender;
// rounds interleaved, order rotated; every ratio is paired with the plain Agent of the same round.
import type { LatencyResult, LoadResult } from './client.ts'
import { BULK_BYTES, interleave, log, pairedRatios, summarize, summarizeRatios, type RatioSummary, type Summary } from './harness.ts'
import { canPin, startWorker, type Worker } from './ipc.ts'

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
  errors: number
  firstError?: string | undefined
  /** TLS handshakes the server saw during this contender's measured windows. */
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
  settings: string
}

export interface Measured { value: number, p99?: number, cpu: number, mainCpu: number, gc: number, alloc: number, errors: number, firstError?: string | undefined, handshakes: number }

const BASELINE = 'agent'

export async function measureScenario (
  server: Worker, serverId: number, clients: Map<string, Worker>, contenders: string[], rounds: number, settleMs: number,
  warm: (client: Worker) => Promise<unknown>, run: (client: Worker) => Promise<Measured>
): Promise<Record<string, Measured[]>> {
  for (const name of contenders) await warm(clients.get(name) as Worker)
  return await interleave(contenders, rounds, async (name) => {
    const before = await server.call<{ handshakes: number }>('stats', { id: serverId })
    const measured = await run(clients.get(name) as Worker)
    const after = await server.call<{ handshakes: number }>('stats', { id: serverId })
    measured.handshakes = after.handshakes - before.handshakes
    return measured
  }, settleMs)
}

/**
 * The baseline of each round: the plain Agent, or, when the A/A control ran, the mean of both
 * plain Agent processes, so that one unlucky baseline process cannot move every ratio.
 */
function baseline (contenders: string[], measured: Record<string, Measured[]>, pick: (m: Measured) => number, base: string): number[] {
  const group = contenders.filter((c) => c === base || c.startsWith(`${base}#`)).map((c) => measured[c] as Measured[])
  return (group[0] as Measured[]).map((_, round) => group.reduce((sum, list) => sum + pick(list[round] as Measured), 0) / group.length)
}

/** Each contender's row, its ratios paired with the baseline (`base`, the plain Agent by default) of the same round. */
export function rows (contenders: string[], measured: Record<string, Measured[]>, base = BASELINE): Row[] {
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
      ratio: summarizeRatios(pairedRatios(values, baseValue)),
      cpu: summarize(cpu),
      cpuValues: cpu,
      cpuRatio: summarizeRatios(pairedRatios(cpu, baseCpu)),
      mainCpu: summarize(mainCpu),
      mainCpuRatio: summarizeRatios(pairedRatios(mainCpu, baseMainCpu)),
      gc: summarize(m.map((x) => x.gc)),
      alloc: summarize(m.map((x) => x.alloc)),
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
  return pick === 'value' ? summarizeRatios(pairedRatios(b.values, a.values)) : summarizeRatios(pairedRatios(b.cpuValues, a.cpuValues))
}

export async function runFastPath (config: FastPathConfig): Promise<ScenarioResult[]> {
  const contenders = [BASELINE, ...config.contenders.filter((c) => c !== BASELINE)]
  const pinning = config.pin && canPin
  const server = await startWorker(new URL('./server.ts', import.meta.url), { cpus: pinning ? '0' : undefined })
  const clients = new Map<string, Worker>()
  try {
    const { id, port } = await server.call<{ id: number, port: number }>('start', { kind: 'fast' })
    const origin = `https://localhost:${port}`
    for (const name of contenders) {
      const profiled = config.profile?.contenders.includes(name) === true
      clients.set(name, await startWorker(new URL('./client.ts', import.meta.url), {
        args: [name],
        cpus: pinning ? '1' : undefined,
        execArgv: profiled ? ['--cpu-prof', '--cpu-prof-dir', (config.profile as { dir: string }).dir, '--cpu-prof-name', `${name.replace(/[^a-z0-9-]/gi, '_')}.${Date.now()}.cpuprofile`] : []
      }))
    }
    const results: ScenarioResult[] = []

    log(`fast path: small GET, ${config.concurrency} in flight, ${config.rounds} rounds of ${config.windowMs} ms per contender`)
    const smallArgs = { url: `${origin}/small`, concurrency: config.concurrency }
    const small = await measureScenario(server, id, clients, contenders, config.rounds, config.settleMs,
      async (c) => await c.call('small', { ...smallArgs, durationMs: config.warmupMs }),
      async (c) => {
        const r = await c.call<LoadResult>('small', { ...smallArgs, durationMs: config.windowMs })
        return { value: r.count / (r.elapsedMs / 1000), cpu: r.cpuUs / Math.max(1, r.count), mainCpu: r.mainCpuUs / Math.max(1, r.count), gc: r.gcMs * 1000 / Math.max(1, r.count), alloc: r.allocatedBytes / Math.max(1, r.count), errors: r.errors, firstError: r.firstError, handshakes: 0 }
      })
    results.push({
      id: 'small',
      title: '1. Fast path, small GET, keep-alive (req/s)',
      unit: 'req/s',
      cpuUnit: 'client CPU µs/req',
      goal: { op: '>=', ratio: 0.98 },
      rows: rows(contenders, small),
      settings: `${config.concurrency} requests in flight, HTTP/1.1 keep-alive, ${config.rounds} rounds × ${config.windowMs} ms per contender after ${config.warmupMs} ms of warm-up`
    })

    log(`fast path: bulk, 16 MiB bodies, ${config.bulkConcurrency} in flight`)
    const bulkArgs = { url: `${origin}/bulk`, concurrency: config.bulkConcurrency }
    const bulk = await measureScenario(server, id, clients, contenders, config.rounds, config.settleMs,
      async (c) => await c.call('bulk', { ...bulkArgs, durationMs: config.warmupMs }),
      async (c) => {
        const r = await c.call<LoadResult>('bulk', { ...bulkArgs, durationMs: config.bulkWindowMs })
        const mib = r.bytes / (1024 * 1024)
        if (r.bytes !== r.count * BULK_BYTES) r.errors += 1
        return { value: mib / (r.elapsedMs / 1000), cpu: r.cpuUs / Math.max(1, mib), mainCpu: r.mainCpuUs / Math.max(1, mib), gc: r.gcMs * 1000 / Math.max(1, mib), alloc: r.allocatedBytes / Math.max(1, mib), errors: r.errors, firstError: r.firstError, handshakes: 0 }
      })
    results.push({
      id: 'bulk',
      title: '2. Fast path, bulk download of 16 MiB bodies (MiB/s)',
      unit: 'MiB/s',
      cpuUnit: 'client CPU µs/MiB',
      goal: { op: '>=', ratio: 0.95 },
      rows: rows(contenders, bulk),
      settings: `${config.bulkConcurrency} downloads in flight, ${config.rounds} rounds × ${config.bulkWindowMs} ms per contender`
    })

    log(`fast path: latency, one request at a time, ${config.latencyCount} per round`)
    const latencyArgs = { url: `${origin}/small` }
    const latency = await measureScenario(server, id, clients, contenders, config.rounds, config.settleMs,
      async (c) => await c.call('latency', { ...latencyArgs, count: Math.ceil(config.latencyCount / 2) }),
      async (c) => {
        const r = await c.call<LatencyResult>('latency', { ...latencyArgs, count: config.latencyCount })
        return { value: r.p50, p99: r.p99, cpu: r.cpuUs / r.count, mainCpu: r.mainCpuUs / r.count, gc: r.gcMs * 1000 / r.count, alloc: r.allocatedBytes / r.count, errors: r.errors, firstError: r.firstError, handshakes: 0 }
      })
    const p99 = Object.fromEntries(contenders.map((c) => [c, (latency[c] as Measured[]).map((m) => ({ ...m, value: m.p99 as number }))]))
    const latencySettings = `one request at a time, ${config.latencyCount} requests per round, ${config.rounds} rounds; per-round percentile, median over rounds`
    results.push({
      id: 'p50',
      title: '3a. Fast path, latency p50 (ms)',
      unit: 'ms',
      cpuUnit: 'client CPU µs/req',
      goal: { op: '<=', ratio: 1.03 },
      rows: rows(contenders, latency),
      settings: latencySettings
    })
    results.push({
      id: 'p99',
      title: '3b. Fast path, latency p99 (ms)',
      unit: 'ms',
      cpuUnit: 'client CPU µs/req',
      goal: { op: '<=', ratio: 1.03 },
      rows: rows(contenders, p99),
      settings: latencySettings
    })
    return results
  } finally {
    await Promise.all([...clients.values()].map(async (c) => await c.stop()))
    await server.stop()
  }
}
