// A load process for one contender. Each contender has its own process, so that none runs with
// another's state: in particular the diagnostics-channel subscription TlsFallbackAgent makes
// (undici:client:sendHeaders) would otherwise also slow the plain Agent down and hide its cost.
import { subscribe } from 'node:diagnostics_channel'
import { PerformanceObserver } from 'node:perf_hooks'
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8'
import { certs } from '../test/servers/certs.ts'
import { makeContender } from './contenders.ts'
import { cpuMicros, quantileSorted, threadCpuMicros } from './harness.ts'
import { serve } from './ipc.ts'

const name = process.argv[2] ?? 'agent'
const contender = await makeContender(name, certs.ca)

// Garbage-collection pauses of this process's main thread, summed.
let gcMs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration
}).observe({ entryTypes: ['gc'] })

// Connections undici opened (each one a full TLS handshake): a window that opened none measured
// the keep-alive path alone. Published once per connection, never per request.
let connections = 0
subscribe('undici:client:connected', () => { connections += 1 })

export interface LoadResult {
  /** Requests completed (responses read to the end with status 200). */
  count: number
  errors: number
  firstError?: string
  bytes: number
  elapsedMs: number
  /** CPU time of this process (user + system, every thread) during the run. */
  cpuUs: number
  /** CPU time of the main thread alone (JavaScript, TLS, syscalls; GC helper threads excluded). */
  mainCpuUs: number
  /** Time the main thread spent paused for garbage collection. */
  gcMs: number
  /**
   * Heap bytes allocated during the run: each heap space's growth between collections, summed
   * (v8.GCProfiler). Unlike time, it does not depend on how loaded the machine is.
   */
  allocatedBytes: number
  /**
   * Bytes the scavenges of the run moved to the old generation: what outlived the young generation
   * (each scavenge's growth of the other spaces, from v8.GCProfiler). See bench/NOTES.md, "What
   * survives a scavenge".
   */
  promotedBytes: number
  /** Connections undici opened during the run (each one a TLS handshake). */
  connections: number
}

type SpaceSizes = Map<string, number>

function spaces (list: Array<{ spaceName?: string, space_name?: string, spaceUsedSize?: number, space_used_size?: number }>): SpaceSizes {
  return new Map(list.map((s) => [s.spaceName ?? s.space_name ?? '', s.spaceUsedSize ?? s.space_used_size ?? 0]))
}

/** What each space grew by from one point to the next (shrinking, from concurrent sweeping, counts as 0). */
function growth (from: SpaceSizes, to: SpaceSizes): number {
  let sum = 0
  for (const [name, size] of to) sum += Math.max(0, size - (from.get(name) ?? 0))
  return sum
}

/** The young generation's spaces: what a scavenge moves out of them into the others is promoted. */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space'])

function oldGeneration (sizes: SpaceSizes): SpaceSizes {
  return new Map([...sizes].filter(([name]) => !YOUNG_SPACES.has(name)))
}

/** GCProfiler's names for collections of the young generation alone. */
const YOUNG_GCS = new Set(['Scavenge', 'MinorMarkSweep', 'MinorMarkCompact'])

/**
 * Counts heap allocation and promotion: call the function it returns at the end of the run. Young
 * objects are allocated by bumping a pointer, so the new space's growth between two scavenges is
 * exact; what a scavenge adds to the old generation's spaces is what it promoted.
 */
function allocationMeter (): () => { allocated: number, promoted: number } {
  const profiler = new GCProfiler()
  profiler.start()
  const start = spaces(getHeapSpaceStatistics())
  return () => {
    const end = spaces(getHeapSpaceStatistics())
    const stats = profiler.stop()?.statistics ?? []
    let allocated = 0
    let promoted = 0
    let previous = start
    for (const s of stats) {
      const before = spaces(s.beforeGC.heapSpaceStatistics)
      const after = spaces(s.afterGC.heapSpaceStatistics)
      allocated += growth(previous, before)
      if (YOUNG_GCS.has(s.gcType)) promoted += growth(oldGeneration(before), oldGeneration(after))
      previous = after
    }
    return { allocated: allocated + growth(previous, end), promoted }
  }
}

export interface LatencyResult extends LoadResult {
  p50: number
  p99: number
  mean: number
}

async function small (url: string): Promise<number> {
  const response = await contender.send(url)
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
  return text.length
}

async function bulk (url: string): Promise<number> {
  const response = await contender.send(url)
  let bytes = 0
  for await (const chunk of response.body) bytes += (chunk as Buffer).length
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
  return bytes
}

/** `concurrency` loops, each sending one request after the other until the time is up. */
async function load (fetchOne: (url: string) => Promise<number>, url: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  const result: LoadResult = { count: 0, errors: 0, bytes: 0, elapsedMs: 0, cpuUs: 0, mainCpuUs: 0, gcMs: 0, allocatedBytes: 0, promotedBytes: 0, connections: 0 }
  const connectionsBefore = connections
  const allocated = allocationMeter()
  const gcBefore = gcMs
  const cpu = process.cpuUsage()
  const mainCpu = process.threadCpuUsage()
  const started = performance.now()
  const deadline = started + durationMs
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        // Read after the await: `bytes += await ...` would add to a value read before it, lost to the other loops.
        const bytes = await fetchOne(url)
        result.bytes += bytes
        result.count += 1
      } catch (error) {
        result.errors += 1
        result.firstError ??= String((error as Error).message)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  result.elapsedMs = performance.now() - started
  result.cpuUs = cpuMicros(cpu)
  result.mainCpuUs = threadCpuMicros(mainCpu)
  const heap = allocated()
  result.allocatedBytes = heap.allocated
  result.promotedBytes = heap.promoted
  result.connections = connections - connectionsBefore
  // PerformanceObserver delivers entries asynchronously: let the last ones arrive.
  await new Promise((resolve) => setImmediate(resolve))
  result.gcMs = gcMs - gcBefore
  return result
}

/** One request at a time, each timed. */
async function latency (url: string, count: number): Promise<LatencyResult> {
  const times = new Float64Array(count)
  let errors = 0
  let firstError: string | undefined
  let bytes = 0
  const connectionsBefore = connections
  const allocated = allocationMeter()
  const gcBefore = gcMs
  const cpu = process.cpuUsage()
  const mainCpu = process.threadCpuUsage()
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const t = performance.now()
    try {
      const n = await small(url)
      bytes += n
    } catch (error) {
      errors += 1
      firstError ??= String((error as Error).message)
    }
    times[i] = performance.now() - t
  }
  const elapsedMs = performance.now() - started
  const cpuUs = cpuMicros(cpu)
  const mainCpuUs = threadCpuMicros(mainCpu)
  const heap = allocated()
  await new Promise((resolve) => setImmediate(resolve))
  times.sort()
  let sum = 0
  for (const t of times) sum += t
  return {
    count,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    bytes,
    elapsedMs,
    cpuUs,
    mainCpuUs,
    gcMs: gcMs - gcBefore,
    allocatedBytes: heap.allocated,
    promotedBytes: heap.promoted,
    connections: connections - connectionsBefore,
    p50: quantileSorted(times, 0.5),
    p99: quantileSorted(times, 0.99),
    mean: sum / count
  }
}

serve({
  small: async ({ url, concurrency, durationMs }: { url: string, concurrency: number, durationMs: number }) =>
    await load(small, url, concurrency, durationMs),
  bulk: async ({ url, concurrency, durationMs }: { url: string, concurrency: number, durationMs: number }) =>
    await load(bulk, url, concurrency, durationMs),
  latency: async ({ url, count }: { url: string, count: number }) => await latency(url, count),
  // The clock of --cpu-prof profiles (monotonic, µs): bench/research/profile.ts takes the samples between two calls.
  now: () => Number(process.hrtime.bigint() / 1000n),
  // The flags this process runs with (the bench fixes the young generation's size: LOAD_PROCESS_FLAGS).
  execArgv: () => process.execArgv,
  stop: async () => { await contender.close() }
})
