/**
 * The bench's runner: interleaved rounds, order rotated each round, statistics over rounds, and
 * ratios paired within a round (each contender against the baseline measured in the same round).
 */

/** The body size of the bulk scenario (the server's `/bulk`). */
export const BULK_BYTES = 16 * 1024 * 1024

export interface Summary {
  n: number
  median: number
  /** Interquartile range: 25th and 75th percentiles. */
  p25: number
  p75: number
  min: number
  max: number
}

/** Linear-interpolated quantile of values (q in [0, 1]). */
export function quantile (values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort()
  return quantileSorted(sorted, q)
}

export function quantileSorted (sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const pos = (n - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (pos - lo)
}

export function median (values: ArrayLike<number>): number {
  return quantile(values, 0.5)
}

export function summarize (values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort()
  return {
    n: sorted.length,
    median: quantileSorted(sorted, 0.5),
    p25: quantileSorted(sorted, 0.25),
    p75: quantileSorted(sorted, 0.75),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN
  }
}

/** Per-round ratios of a contender to the baseline of the same round. */
export function pairedRatios (values: number[], baseline: number[]): number[] {
  return values.map((v, i) => v / (baseline[i] as number))
}

/** The order of the contenders in a round: rotated by one each round, and reversed every other round. */
export function roundOrder<C> (contenders: readonly C[], round: number): C[] {
  const rotated = contenders.map((_, i) => contenders[(i + round) % contenders.length] as C)
  return round % 2 === 1 ? rotated.reverse() : rotated
}

/**
 * Runs `rounds` rounds; in each, every contender once. The order rotates by one each round
 * (A B C D, then A D C B reversed from B C D A, ...), so that drift and position effects fall on
 * every contender alike and no contender always follows the same one. `settleMs` passes between
 * two measurements: what one contender leaves behind (garbage collection finishing on helper
 * threads, say) must not be charged to the next one. Returns each contender's per-round values.
 */
export async function interleave<C extends string, T> (
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C, round: number) => Promise<T>,
  settleMs = 0
): Promise<Record<C, T[]>> {
  const out = Object.fromEntries(contenders.map((c) => [c, [] as T[]])) as Record<C, T[]>
  for (let round = 0; round < rounds; round++) {
    for (const contender of roundOrder(contenders, round)) {
      if (settleMs > 0) await sleep(settleMs)
      out[contender].push(await measure(contender, round))
    }
  }
  return out
}

/** Logs go to stderr: stdout carries only the JSON object of `--json`. */
export function log (message: string): void {
  process.stderr.write(`${message}\n`)
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** CPU time of this process since `since` (from process.cpuUsage()), in microseconds. */
export function cpuMicros (since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return d.user + d.system
}

/** CPU time of the calling thread since `since` (from process.threadCpuUsage()), in microseconds. */
export function threadCpuMicros (since: NodeJS.CpuUsage): number {
  const d = process.threadCpuUsage(since)
  return d.user + d.system
}
