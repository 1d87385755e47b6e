/**
 * The bench's runner: interleaved rounds, order rotated each round, statistics over rounds, and
 * ratios paired within a round (each contender against the baseline measured in the same round).
 */

/** The body size of the bulk scenario (the server's `/bulk`). */
export const BULK_BYTES = 16 * 1024 * 1024

/** Requests the instruction count's child sends after its forced full collection, before the measured ones (at most its warm-up's). */
export const REWARM = 3_000

export { median, pairedRatios, quantile, quantileSorted, summarize, summarizeRatios, type RatioSummary, type Summary } from './stats.ts'

/**
 * The baseline of each round: the `base` contender (the plain Agent), or, when the A/A control ran,
 * the mean of every instance of it (`agent`, `agent#2`), so that one unlucky baseline process cannot
 * move every ratio. `measured` holds each contender's rounds, in order.
 */
export function baseline<T> (contenders: readonly string[], measured: Record<string, T[]>, pick: (m: T) => number, base: string): number[] {
  const group = contenders.filter((c) => c === base || c.startsWith(`${base}#`)).map((c) => measured[c] as T[])
  return (group[0] as T[]).map((_, round) => group.reduce((sum, list) => sum + pick(list[round] as T), 0) / group.length)
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
 * threads, say) must not be charged to the next one. `firstRound` continues the rotation of an
 * earlier call (the fast path's blocks). Returns each contender's per-round values.
 */
export async function interleave<C extends string, T> (
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C, round: number) => Promise<T>,
  settleMs = 0,
  firstRound = 0
): Promise<Record<C, T[]>> {
  const out = Object.fromEntries(contenders.map((c) => [c, [] as T[]])) as Record<C, T[]>
  for (let round = firstRound; round < firstRound + rounds; round++) {
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
