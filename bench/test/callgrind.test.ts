import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { categories, categorize, libraryFunctions, parsePart, parsePerfMap, shortName } from '../research/callgrind.ts'
import { LOAD_PROCESS_FLAGS } from '../fast-path.ts'
import { callgrindArgs, instructionRows, seedFor, type InstructionsSample } from '../research/instructions.ts'

// One part of a dump as callgrind 3.19 writes it with --dump-instr=no --dump-line=no --compress-strings=no.
const PART = `# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 17790
cmd:  node --predictable bench/instructions-child.ts agent
part: 2

desc: Timerange: Basic block 456311883 - 630573760
desc: Trigger: --dump-before=uv_os_get_passwd

positions: line
events: Ir
summary: 9999999
totals: 1450

ob=/work/main/node_modules/node/bin/node
fl=???
fn=Builtins_LoadIC
0 100
cfn=0x0000000028152cc0
calls=2 0
0 5000
0 20
fn=0x0000000028152cc0
0 200
fn=0x0000000028152cc0'2
0 30
fn=0x0000000028160010
0 400
fn=0x00000000281a0000
0 500
fn=heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>(v8::internal::FullHeapObjectSlot, v8::internal::Tagged<v8::internal::HeapObject>)
0 100
fn=v8::internal::compiler::GraphReducer::ReduceTop()
0 60
fn=aes_gcm_cipher
0 40
`

const MAP = `28152c00 200 JS:*'onAttemptHeaders /work/main/src/request.ts:249:20
28160000 100 JS:+'resumeH1 /work/main/node_modules/undici/lib/dispatcher/client-h1.js:1127:19
28170000 80 JS:*'nextTick node:internal/process/task_queues:113:18
28180000 40 JS:~onAttemptHeaders file:///work/main/src/request.ts:249:20
`

describe('bench: reading callgrind output', () => {
  test('a part\'s self costs skip the inclusive cost that follows a calls= line, and add up to its totals', () => {
    const part = parsePart(PART)
    assert.equal(part.total, 1450)
    assert.equal(part.self.get('Builtins_LoadIC'), 120, 'the 5,000 after calls= is the callee\'s inclusive cost, not LoadIC\'s own')
    assert.equal(part.self.get('0x0000000028152cc0'), 200)
    assert.equal(part.self.get('0x0000000028152cc0\'2'), 30)
    assert.equal([...part.self.values()].reduce((a, b) => a + b, 0), part.total)
  })

  test('a part without a totals: line is refused', () => {
    assert.throws(() => parsePart('fn=x\n0 10\n'), /totals/)
  })

  test('the perf map names the compiled function whose code holds an address, and nothing outside every range', () => {
    const map = parsePerfMap(MAP)
    assert.match(map.lookup(0x28152cc0) ?? '', /onAttemptHeaders/)
    assert.match(map.lookup(0x28160010) ?? '', /resumeH1/)
    assert.equal(map.lookup(0x28160100), undefined, 'past the end of resumeH1\'s 0x100 bytes')
    assert.equal(map.lookup(0x28000000), undefined, 'below the first entry')
  })

  test('instructions are sorted by the code that ran them: the library, undici, Node, builtins, GC, compilation, native', () => {
    const map = parsePerfMap(MAP)
    assert.equal(categorize('0x0000000028152cc0\'2', map), 'library')
    assert.equal(categorize('0x0000000028160010', map), 'undici')
    assert.equal(categorize('0x0000000028170004', map), 'node')
    assert.equal(categorize('0x00000000281a0000', map), 'otherJs', 'an address no function covers')
    assert.equal(categorize('0x0000000028152cc0', undefined), 'otherJs', 'no perf map: JavaScript is not attributed')
    assert.equal(categorize('Builtins_LoadIC', map), 'builtins')
    assert.equal(categorize('Builtins_RecordWriteSaveFP', map), 'gc', 'the write barrier is the collector\'s cost')
    assert.equal(categorize('v8::internal::compiler::GraphReducer::ReduceTop()', map), 'compiler')
    assert.equal(categorize('aes_gcm_cipher', map), 'native')
    const src = parsePerfMap('28152c00 200 JS:*\'x /work/main/node_modules/some-dep/src/index.js:1:1\n')
    assert.equal(categorize('0x0000000028152cc0', src), 'otherJs', 'a dependency\'s src/ folder is not the library')
    const byCategory = categories(parsePart(PART), map)
    assert.deepEqual(byCategory, { library: 230, undici: 400, node: 0, otherJs: 500, builtins: 120, gc: 100, compiler: 60, native: 40 })
  })

  test('the library\'s functions add up across V8\'s tiers under one name', () => {
    const part = parsePart(PART.replace('fn=0x0000000028160010', 'fn=0x0000000028180004'))
    const fns = libraryFunctions(part, parsePerfMap(MAP))
    assert.deepEqual(fns, [{ name: 'onAttemptHeaders src/request.ts:249', instructions: 630 }])
    assert.equal(shortName('JS:*\'dispatch /work/main/src/agent.ts:155:21'), 'dispatch src/agent.ts:155')
    assert.equal(shortName('JS:+\' file:///work/main/src/connector.ts:224:42'), 'src/connector.ts:224')
  })
})

describe('bench: instructions per request, rounds and ratios', () => {
  const sample = (contender: string, round: number, perRequest: number): InstructionsSample => ({
    contender,
    round,
    seed: seedFor(contender, round),
    perRequest,
    categories: { library: contender === 'tls-fallback' ? 10 : 0, undici: 0, node: 0, otherJs: 0, builtins: 0, gc: 0, compiler: 0, native: perRequest },
    library: contender === 'tls-fallback' ? [{ name: 'dispatch src/agent.ts:155', instructions: 10 }] : [],
    connections: 0,
    majorGcs: 0,
    errors: 0
  })

  test('contenders share a round\'s seed, except the A/A control\'s second Agent, which would repeat the first\'s count', () => {
    assert.equal(seedFor('agent', 0), 1)
    assert.equal(seedFor('tls-fallback', 0), 1)
    assert.equal(seedFor('agent', 5), 6)
    assert.notEqual(seedFor('agent#2', 0), seedFor('agent', 0))
  })

  test('each process runs Node with its round\'s seed, predictable, with the marks callgrind cuts at', () => {
    const config = { contenders: [], rounds: 5, warmup: 20_000, requests: 4_000, concurrency: 32, parallel: 2 }
    const node = (contender: string, round: number): string[] => {
      const args = callgrindArgs(contender, round, 'https://localhost:1', config, '/tmp/x')
      assert.ok(args.includes('--dump-before=uv_os_get_passwd'))
      return args.slice(args.indexOf(process.execPath) + 1)
    }
    for (const [contender, round] of [['agent', 0], ['tls-fallback', 3], ['agent#2', 4]] as const) {
      const args = node(contender, round)
      assert.ok(args.includes(`--random-seed=${seedFor(contender, round)}`), `${contender} round ${round}: ${args.join(' ')}`)
      assert.ok(args.includes('--predictable'))
      assert.ok(args.includes('--expose-gc'))
      for (const flag of LOAD_PROCESS_FLAGS) assert.ok(args.includes(flag), `${contender} round ${round}: ${flag}`)
      assert.deepEqual(args.slice(-5), [contender, 'https://localhost:1', '20000', '4000', '32'])
    }
    assert.notDeepEqual(node('agent', 0), node('agent', 1), 'two rounds, two seeds')
  })

  test('each round\'s count is divided by the mean of both plain Agents of that round', () => {
    const samples = [
      sample('agent', 0, 100), sample('agent#2', 0, 110), sample('tls-fallback', 0, 105),
      sample('agent', 1, 200), sample('agent#2', 1, 200), sample('tls-fallback', 1, 220)
    ]
    const rows = instructionRows(['agent', 'agent#2', 'tls-fallback'], samples, 2)
    const tls = rows.find((r) => r.contender === 'tls-fallback')
    assert.deepEqual(tls?.values, [105, 220])
    assert.equal(tls?.ratio.median, (1 + 1.1) / 2)
    assert.equal(tls?.categories.library, 10)
    assert.deepEqual(tls?.library, [{ name: 'dispatch src/agent.ts:155', instructions: 10 }])
  })

  test('a contender with a round missing is an error, not a shorter series', () => {
    const samples = [sample('agent', 0, 100), sample('tls-fallback', 0, 105), sample('agent', 1, 100)]
    assert.throws(() => instructionRows(['agent', 'tls-fallback'], samples, 2), /tls-fallback has 1 rounds, not 2/)
  })
})
