import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { LOAD_PROCESS_FLAGS, measureScenario, rows, startClients, stopClients, type Measured, type Plan } from '../fast-path.ts'
import type { Worker } from '../ipc.ts'

/** A measurement of `value`; the rest as a round of the bench would carry it. */
function measured (value: number, handshakes = 0): Measured {
  return { value, cpu: 10, mainCpu: 9, gc: 0, alloc: 100, errors: 0, handshakes }
}

interface Fake {
  plan: Plan
  /** Every process started, by block, in order. */
  started: string[][]
  /** Events in order: `start <name>` / `end <name>` of each measured run, `stop <block>` when a block's processes stop. */
  events: string[]
  stopped: number
}

/**
 * A plan whose "processes" are objects and whose runs resolve on the next turn: the scheduling of
 * measureScenario (blocks, fresh processes, who runs with whom) observed without any I/O.
 */
function fakePlan (contenders: string[], rounds: number, blocks: number, together: boolean, value: (name: string, block: number) => number): Fake {
  const fake: Fake = { plan: undefined as unknown as Plan, started: [], events: [], stopped: 0 }
  let handshakes = 0
  const server = {
    pid: 0,
    call: async <T>() => {
      handshakes += 2
      return { handshakes } as T
    },
    stop: async () => {}
  } satisfies Worker
  const workerFor = (name: string, block: number): Worker => ({
    pid: block,
    call: async <T>(cmd: string) => {
      if (cmd === 'stop') return undefined as T
      fake.events.push(`start ${name}`)
      await new Promise((resolve) => setImmediate(resolve))
      fake.events.push(`end ${name}`)
      return measured(value(name, block), together ? 1 : 0) as T
    },
    stop: async () => {}
  })
  fake.plan = {
    server,
    serverId: 1,
    contenders,
    rounds,
    blocks,
    together,
    settleMs: 0,
    startupSettleMs: 0,
    start: async () => {
      const block = fake.started.length
      fake.started.push([...contenders])
      return new Map(contenders.map((name) => [name, {
        ...workerFor(name, block),
        stop: async () => { if (name === contenders[0]) { fake.stopped += 1; fake.events.push(`stop ${block}`) } }
      }]))
    },
    warm: async () => undefined,
    run: async (client) => await client.call<Measured>('small')
  }
  return fake
}

describe('bench: rounds in blocks of fresh load processes', () => {
  test('30 rounds in 5 blocks: fresh processes per block, each round labelled with its block', async () => {
    const fake = fakePlan(['agent', 'tls'], 30, 5, false, (_name, block) => 100 + block)
    const { measured: values, groups } = await measureScenario(fake.plan)
    assert.equal(fake.started.length, 5, 'one set of processes per block')
    assert.equal(fake.stopped, 5, 'every block stops its processes')
    assert.deepEqual(groups, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4])
    assert.deepEqual(values.agent?.map((m) => m.value), groups.map((g) => 100 + g), 'each value comes from its own block\'s process')
    assert.equal(values.tls?.length, 30)
  })

  test('rounds that do not divide evenly are spread over the blocks, none lost', async () => {
    const fake = fakePlan(['agent', 'tls'], 7, 3, false, () => 1)
    const { measured: values, groups } = await measureScenario(fake.plan)
    assert.deepEqual(groups, [0, 0, 1, 1, 1, 2, 2])
    assert.equal(values.agent?.length, 7)
  })

  test('more blocks than rounds: one round per block', async () => {
    const fake = fakePlan(['agent'], 2, 9, false, () => 1)
    const { groups } = await measureScenario(fake.plan)
    assert.deepEqual(groups, [0, 1])
    assert.equal(fake.started.length, 2)
  })

  test('one at a time: runs never overlap and the server counts each run\'s handshakes', async () => {
    const fake = fakePlan(['agent', 'agent#2', 'tls'], 4, 2, false, () => 1)
    const { measured: values } = await measureScenario(fake.plan)
    const runs = fake.events.filter((e) => !e.startsWith('stop'))
    for (let i = 0; i < runs.length; i += 2) {
      assert.match(runs[i] as string, /^start /)
      assert.equal(runs[i + 1], `end ${(runs[i] as string).slice('start '.length)}`, 'a run ends before the next starts')
    }
    // The fake server's count grows by 2 per stats call, two calls per run: 2 handshakes per run.
    assert.ok(values.tls?.every((m) => m.handshakes === 2))
  })

  test('one at a time: the warm-up order rotates with the block, so no contender always warms first', async () => {
    const contenders = ['agent', 'agent#2', 'tls']
    const fake = fakePlan(contenders, 4, 4, false, () => 1)
    const start = fake.plan.start
    const names = new Map<Worker, string>()
    fake.plan.start = async () => {
      const clients = await start()
      for (const [name, worker] of clients) names.set(worker, name)
      return clients
    }
    const warmed: Array<{ block: number, name: string }> = []
    fake.plan.warm = async (client) => { warmed.push({ block: client.pid, name: names.get(client) as string }) }
    await measureScenario(fake.plan)
    const firsts = [0, 1, 2, 3].map((block) => warmed.find((w) => w.block === block)?.name)
    assert.deepEqual(firsts, ['agent', 'agent#2', 'tls', 'agent'], 'each block warms the next contender first')
    for (let block = 0; block < 4; block++) {
      assert.deepEqual(warmed.filter((w) => w.block === block).map((w) => w.name).sort(), [...contenders].sort(), `block ${block} warms every contender once`)
    }
  })

  test('together: every contender of a round runs in the same window; handshakes are the client\'s own', async () => {
    const contenders = ['agent', 'agent#2', 'tls']
    const fake = fakePlan(contenders, 4, 2, true, () => 1)
    const { measured: values, groups } = await measureScenario(fake.plan)
    assert.deepEqual(groups, [0, 0, 1, 1])
    const runs = fake.events.filter((e) => !e.startsWith('stop'))
    // Each round: all three start before any ends.
    for (let round = 0; round < 4; round++) {
      const window = runs.slice(round * 6, round * 6 + 6)
      assert.deepEqual(window.slice(0, 3).sort(), contenders.map((c) => `start ${c}`).sort(), `round ${round} starts every contender first`)
      assert.ok(window.slice(3).every((e) => e.startsWith('end ')))
    }
    assert.ok(values.tls?.every((m) => m.handshakes === 1), 'the server\'s shared count is not used')
  })

  test('the grouped interval: a contender whose processes disagree gets a wide interval even if its rounds agree within each process', async () => {
    // Within a block the paired ratios are identical; between blocks the process's bias is ±10%.
    const bias = [0.9, 1.1, 0.92, 1.08, 1]
    const fake = fakePlan(['agent', 'tls'], 30, 5, true, (name, block) => name === 'tls' ? 100 * (bias[block] as number) : 100)
    const measurements = await measureScenario(fake.plan)
    const tls = rows(['agent', 'tls'], measurements).find((r) => r.contender === 'tls')
    assert.ok(tls !== undefined)
    assert.ok(tls.ratio.high - tls.ratio.low > 0.1, `grouped interval [${tls.ratio.low}, ${tls.ratio.high}] shows the processes' spread`)
    const ungrouped = rows(['agent', 'tls'], { measured: measurements.measured, groups: measurements.groups.map((_, i) => i) }).find((r) => r.contender === 'tls')
    assert.ok(ungrouped !== undefined)
    assert.ok(ungrouped.ratio.high - ungrouped.ratio.low < tls.ratio.high - tls.ratio.low, 'rounds drawn alone understate it')
  })
})

describe('bench: load processes', () => {
  test('every load process runs with the young generation\'s size fixed (LOAD_PROCESS_FLAGS), profiled or not', async () => {
    assert.ok(LOAD_PROCESS_FLAGS.some((flag) => flag.startsWith('--min-semi-space-size=')) && LOAD_PROCESS_FLAGS.some((flag) => flag.startsWith('--max-semi-space-size=')))
    const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'))
    // `agent` with a CPU profile (--profile), `tls-fallback` without.
    const clients = await startClients(['agent', 'tls-fallback'], false, { contenders: ['agent'], dir: `${dir}/` })
    try {
      for (const [name, client] of clients) {
        const execArgv = await client.call<string[]>('execArgv')
        assert.deepEqual(LOAD_PROCESS_FLAGS.filter((flag) => !execArgv.includes(flag)), [], `${name} runs without these`)
        assert.equal(execArgv.includes('--cpu-prof'), name === 'agent', name)
      }
    } finally {
      await stopClients(clients)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
