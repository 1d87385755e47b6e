import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { bootstrapMedianCi, median, pairedRatios, prng, quantile, quantileSorted, summarize, summarizeRatios } from '../stats.ts'

describe('bench statistics: quantiles and summaries', () => {
  test('quantiles interpolate linearly between sorted values', () => {
    assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5)
    assert.equal(quantileSorted([1, 2, 3, 4], 0), 1)
    assert.equal(quantileSorted([1, 2, 3, 4], 1), 4)
    assert.equal(quantileSorted([10, 20], 0.25), 12.5)
    assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5, 'quantile sorts first')
    assert.ok(Number.isNaN(quantile([], 0.5)))
  })

  test('the median of an odd count is the middle value', () => {
    assert.equal(median([5, 1, 9]), 5)
  })

  test('summarize reports count, median, IQR and range', () => {
    assert.deepEqual(summarize([3, 1, 2, 5, 4]), { n: 5, median: 3, p25: 2, p75: 4, min: 1, max: 5 })
  })

  test('paired ratios divide each round by the baseline of the same round', () => {
    assert.deepEqual(pairedRatios([2, 9, 4], [1, 3, 8]), [2, 3, 0.5])
  })

  test('paired ratios refuse series of different lengths', () => {
    assert.throws(() => pairedRatios([1, 2], [1]), RangeError)
  })
})

describe('bench statistics: the seeded PRNG', () => {
  test('the same seed gives the same sequence, another seed another one', () => {
    const a = prng(42)
    const b = prng(42)
    const c = prng(43)
    const seqA = Array.from({ length: 5 }, a)
    assert.deepEqual(Array.from({ length: 5 }, b), seqA)
    assert.notDeepEqual(Array.from({ length: 5 }, c), seqA)
  })

  test('draws lie in [0, 1) and are spread evenly', () => {
    const random = prng(7)
    const buckets = new Array<number>(10).fill(0)
    for (let i = 0; i < 100_000; i++) {
      const x = random()
      assert.ok(x >= 0 && x < 1, `draw ${x}`)
      buckets[Math.floor(x * 10)] = (buckets[Math.floor(x * 10)] as number) + 1
    }
    for (const count of buckets) assert.ok(count > 9_500 && count < 10_500, `bucket count ${count} of 100,000 draws`)
  })
})

describe('bench statistics: bootstrap interval of the median', () => {
  // 31 rounds of a ratio around 0.97 with some spread, drawn once from a seeded PRNG.
  const random = prng(2026)
  const rounds = Array.from({ length: 31 }, () => 0.97 + (random() - 0.5) * 0.1)

  test('is reproducible: the same rounds give the same interval', () => {
    assert.deepEqual(bootstrapMedianCi(rounds), bootstrapMedianCi([...rounds]))
  })

  test('does not hinge on the seed: other seeds give about the same interval', () => {
    const a = bootstrapMedianCi(rounds, { seed: 1 })
    for (const seed of [2, 3, 1234]) {
      const b = bootstrapMedianCi(rounds, { seed })
      assert.ok(Math.abs(a.low - b.low) < 0.01 && Math.abs(a.high - b.high) < 0.01, `seed ${seed}: ${JSON.stringify(b)} vs ${JSON.stringify(a)}`)
    }
  })

  test('contains the sample median and lies within the range of the rounds', () => {
    const { low, high } = bootstrapMedianCi(rounds)
    const m = median(rounds)
    assert.ok(low <= m && m <= high, `${low} <= ${m} <= ${high}`)
    assert.ok(low >= Math.min(...rounds) && high <= Math.max(...rounds))
    assert.ok(low < high, 'rounds that differ give an interval of some width')
  })

  test('is a point when every round has the same value', () => {
    assert.deepEqual(bootstrapMedianCi([1.01, 1.01, 1.01, 1.01]), { low: 1.01, high: 1.01 })
  })

  test('narrows as rounds are added', () => {
    const r = prng(5)
    const draw = (n: number): number[] => Array.from({ length: n }, () => r())
    const few = bootstrapMedianCi(draw(10))
    const many = bootstrapMedianCi(draw(400))
    assert.ok(many.high - many.low < (few.high - few.low) / 2, `400 rounds: ${many.high - many.low}, 10 rounds: ${few.high - few.low}`)
  })

  test('a higher level gives a wider interval', () => {
    const i90 = bootstrapMedianCi(rounds, { level: 0.9 })
    const i99 = bootstrapMedianCi(rounds, { level: 0.99 })
    assert.ok(i99.low <= i90.low && i99.high >= i90.high)
    assert.ok(i99.high - i99.low > i90.high - i90.low)
  })

  test('covers the true median about 95% of the time (uniform samples of 31 rounds)', () => {
    const r = prng(99)
    let covered = 0
    const trials = 200
    for (let t = 0; t < trials; t++) {
      const sample = Array.from({ length: 31 }, () => r())
      const { low, high } = bootstrapMedianCi(sample, { resamples: 2_000, seed: t + 1 })
      if (low <= 0.5 && high >= 0.5) covered += 1
    }
    assert.ok(covered >= 0.88 * trials && covered <= 0.995 * trials, `covered the true median in ${covered} of ${trials} trials`)
  })

  test('no rounds give NaN ends; a bad level or resample count is refused', () => {
    const empty = bootstrapMedianCi([])
    assert.ok(Number.isNaN(empty.low) && Number.isNaN(empty.high))
    assert.throws(() => bootstrapMedianCi(rounds, { level: 1 }), RangeError)
    assert.throws(() => bootstrapMedianCi(rounds, { resamples: 0 }), RangeError)
  })

  test('grouped: a bias shared by the rounds of one process widens the interval', () => {
    // 5 processes of 6 rounds each; each process is off by its own few percent, as the bench's
    // load processes are. Drawn alone, the rounds look like 30 independent ones.
    const r = prng(7)
    const offsets = [0.96, 1.03, 0.99, 1.05, 0.97]
    const values: number[] = []
    const groups: number[] = []
    offsets.forEach((offset, g) => {
      for (let i = 0; i < 6; i++) {
        values.push(offset + (r() - 0.5) * 0.01)
        groups.push(g)
      }
    })
    const alone = bootstrapMedianCi(values)
    const grouped = bootstrapMedianCi(values, { groups })
    assert.ok(grouped.high - grouped.low > 1.5 * (alone.high - alone.low), `grouped ${JSON.stringify(grouped)}, alone ${JSON.stringify(alone)}`)
    assert.deepEqual(grouped, bootstrapMedianCi(values, { groups }), 'reproducible')
  })

  test('grouped: covers the true median about as often as asked when processes carry a bias', () => {
    const r = prng(11)
    let coveredGrouped = 0
    let coveredAlone = 0
    const trials = 150
    for (let t = 0; t < trials; t++) {
      const values: number[] = []
      const groups: number[] = []
      for (let g = 0; g < 5; g++) {
        const offset = (r() - 0.5) * 0.06
        for (let i = 0; i < 6; i++) {
          values.push(1 + offset + (r() - 0.5) * 0.02)
          groups.push(g)
        }
      }
      const grouped = bootstrapMedianCi(values, { groups, resamples: 1_000, seed: t + 1 })
      const alone = bootstrapMedianCi(values, { resamples: 1_000, seed: t + 1 })
      if (grouped.low <= 1 && grouped.high >= 1) coveredGrouped += 1
      if (alone.low <= 1 && alone.high >= 1) coveredAlone += 1
    }
    assert.ok(coveredGrouped >= 0.8 * trials, `grouped covered the true median in ${coveredGrouped} of ${trials} trials`)
    assert.ok(coveredAlone < coveredGrouped, `drawn alone: ${coveredAlone} of ${trials}, grouped: ${coveredGrouped}`)
  })

  test('grouped: one group per value matches drawing values alone in width; a groups list of the wrong length is refused', () => {
    const alone = bootstrapMedianCi(rounds)
    const single = bootstrapMedianCi(rounds, { groups: rounds.map((_, i) => i) })
    assert.ok(Math.abs((single.high - single.low) - (alone.high - alone.low)) < 0.01, `${JSON.stringify(single)} vs ${JSON.stringify(alone)}`)
    assert.throws(() => bootstrapMedianCi(rounds, { groups: [1, 2] }), RangeError)
  })

  test('summarizeRatios adds the interval to the summary', () => {
    const s = summarizeRatios(rounds)
    assert.equal(s.n, 31)
    assert.equal(s.median, median(rounds))
    assert.deepEqual({ low: s.low, high: s.high }, bootstrapMedianCi(rounds))
  })
})
