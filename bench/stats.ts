/**
 * The bench's statistics, pure: quantiles, summaries over rounds, paired ratios, and a percentile
 * bootstrap confidence interval for a median. The bootstrap draws from a seeded PRNG, so the same
 * rounds always give the same interval (a report can be reproduced from its raw values).
 */

export interface Summary {
  n: number
  median: number
  /** Interquartile range: 25th and 75th percentiles. */
  p25: number
  p75: number
  min: number
  max: number
}

/** A summary of paired ratios, with a bootstrap confidence interval for their median. */
export interface RatioSummary extends Summary {
  /** The interval's ends (95% unless the caller asked otherwise). */
  low: number
  high: number
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

/** Linear-interpolated quantile of values (q in [0, 1]). */
export function quantile (values: ArrayLike<number>, q: number): number {
  return quantileSorted(Float64Array.from(values).sort(), q)
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
export function pairedRatios (values: readonly number[], baseline: readonly number[]): number[] {
  if (values.length !== baseline.length) throw new RangeError(`paired ratios need as many values as baseline values (${values.length} and ${baseline.length})`)
  return values.map((v, i) => v / (baseline[i] as number))
}

/** mulberry32: a small, fast, seeded PRNG; returns numbers in [0, 1). */
export function prng (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface BootstrapOptions {
  /** Resamples drawn. Default 10,000. */
  resamples?: number
  /** Coverage of the interval. Default 0.95. */
  level?: number
  /** The PRNG's seed. Default 1. */
  seed?: number
  /**
   * The group each value came from (one entry per value), such as the load process that measured
   * it. Values of one group share that group's bias, so the resampling is two-stage: draw groups
   * with replacement, then values within each drawn group. Without it, values are drawn alone.
   */
  groups?: readonly number[] | undefined
}

/**
 * Percentile bootstrap interval for the median: `resamples` times, draw n values with replacement
 * and take their median; the interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of those
 * medians. With `groups`, each resample draws whole groups first (as many as there are, with
 * replacement) and then that many values from each drawn group: a bias that a group's values share
 * widens the interval, as it should, instead of passing for signal. NaN ends for no values.
 */
export function bootstrapMedianCi (values: readonly number[], options: BootstrapOptions = {}): { low: number, high: number } {
  const n = values.length
  if (n === 0) return { low: Number.NaN, high: Number.NaN }
  const resamples = options.resamples ?? 10_000
  const level = options.level ?? 0.95
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be between 0 and 1, got ${level}`)
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a whole number >= 1, got ${resamples}`)
  const members = groupMembers(values, options.groups)
  const random = prng(options.seed ?? 1)
  const medians = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    const sample: number[] = []
    for (let g = 0; g < members.length; g++) {
      const group = members[Math.floor(random() * members.length)] as number[]
      for (let i = 0; i < group.length; i++) sample.push(group[Math.floor(random() * group.length)] as number)
    }
    medians[r] = quantileSorted(Float64Array.from(sample).sort(), 0.5)
  }
  medians.sort()
  return { low: quantileSorted(medians, (1 - level) / 2), high: quantileSorted(medians, (1 + level) / 2) }
}

/** The values of each group, in order of first appearance; without `groups`, one group of every value (the plain bootstrap). */
function groupMembers (values: readonly number[], groups: readonly number[] | undefined): number[][] {
  if (groups === undefined) return [values.slice()]
  if (groups.length !== values.length) throw new RangeError(`groups needs one entry per value (${groups.length} for ${values.length} values)`)
  const byGroup = new Map<number, number[]>()
  values.forEach((value, i) => {
    const key = groups[i] as number
    let list = byGroup.get(key)
    if (list === undefined) byGroup.set(key, list = [])
    list.push(value)
  })
  return [...byGroup.values()]
}

/** Summary of paired ratios with the bootstrap interval of their median. */
export function summarizeRatios (ratios: readonly number[], options: BootstrapOptions = {}): RatioSummary {
  return { ...summarize(ratios), ...bootstrapMedianCi(ratios, options) }
}
