// Where each microsecond of a small keep-alive GET goes: the plain Agent and TlsFallbackAgent (and
// --alt, another copy of the library) each run the small-GET load in a process of their own under
// --cpu-prof; the profile's samples inside the measured window are attributed by self time to
// categories (this library by file, undici, Node's streams/TLS/net, GC, idle) and divided by the
// requests made in that window.
//
//   node bench/research/profile.ts [--seconds 6] [--rounds 3] [--alt <index.ts>] [--label <text>] [--out <file>] [--no-pin]
//
// Prints a Markdown table (stderr gets the progress); --out writes it to a file as well (bench/research/PROFILE.md
// is included in bench/RESULTS.md by the next full run). With --alt (a copy of src/ from before a
// change), the table has the change's before and after side by side. The rounds alternate the contenders and the
// per-request figures are medians over rounds.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { LoadResult } from '../client.ts'
import { log, median } from '../harness.ts'
import { LOAD_PROCESS_FLAGS } from '../fast-path.ts'
import { canPin, startWorker, type Worker } from '../ipc.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    alt: { type: 'string' },
    label: { type: 'string' },
    out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false }
  },
  strict: true
})
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const pinning = values['no-pin'] !== true && canPin
if (values.alt !== undefined) process.env.BENCH_ALT_AGENT = values.alt
const contenders = ['agent', 'tls-fallback', ...(values.alt === undefined ? [] : ['tls-fallback-alt'])]

interface ProfileNode { id: number, callFrame: { functionName: string, url: string }, children?: number[] }
interface Profile { nodes: ProfileNode[], startTime: number, samples: number[], timeDeltas: number[] }

/** The category of a sampled function, by where its code lives. */
function category (node: ProfileNode): string {
  const { url, functionName } = node.callFrame
  if (functionName === '(garbage collector)') return 'GC (main thread)'
  if (functionName === '(idle)') return 'idle (waiting for the server)'
  if (functionName === '(program)') return 'V8/native, unattributed'
  // src/ of this copy, or of an --alt copy (a folder whose name ends in src, such as .tmp/before-src).
  const lib = /src\/([a-z/-]+)\.ts$/.exec(url)
  if (lib !== null) return `library: src/${lib[1]}.ts`
  if (url.includes('/node_modules/undici/')) return 'undici'
  if (url.includes('/bench/')) return 'bench load loop'
  if (/node:(internal\/)?(tls|_tls|crypto)/.test(url) || url.includes('_tls_')) return 'Node TLS'
  if (/node:(internal\/)?(stream|streams)/.test(url)) return 'Node streams'
  if (/node:(internal\/)?(net|stream_base|dns)/.test(url)) return 'Node net'
  if (url.includes('diagnostics_channel')) return 'diagnostics_channel'
  if (url.startsWith('node:')) return 'Node, other'
  if (url === '') return `native: ${functionName === '' ? '(anonymous)' : functionName}`
  return 'other'
}

function attribute (profile: Profile, fromUs: number, toUs: number): { byCategory: Map<string, number>, byFunction: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const byCategory = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] as number
    t += delta
    if (t < fromUs || t > toUs) continue
    const node = nodes.get(profile.samples[i] as number) as ProfileNode
    const c = category(node)
    // Each sample stands for the time until the next one.
    const next = (profile.timeDeltas[i + 1] ?? delta)
    byCategory.set(c, (byCategory.get(c) ?? 0) + next)
    if (c.startsWith('library')) {
      const f = `${node.callFrame.functionName || '(anonymous)'} (${c.slice('library: '.length)})`
      byFunction.set(f, (byFunction.get(f) ?? 0) + next)
    }
  }
  return { byCategory, byFunction }
}

const dir = new URL('../../.tmp/bench-profiles/breakdown/', import.meta.url).pathname
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })

const server = await startWorker(new URL('../server.ts', import.meta.url), { cpus: pinning ? '0' : undefined })
const { port } = await server.call<{ id: number, port: number }>('start', { kind: 'fast' })
const url = `https://localhost:${port}/small`
const perRequest = new Map<string, Array<Map<string, number>>>()
const functions = new Map<string, Array<Map<string, number>>>()
const cpu = new Map<string, number[]>()
const allocation = new Map<string, number[]>()
try {
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? contenders : [...contenders].reverse()) {
      const profDir = `${dir}${name}-${round}/`
      mkdirSync(profDir, { recursive: true })
      const client: Worker = await startWorker(new URL('../client.ts', import.meta.url), {
        args: [name], cpus: pinning ? '1' : undefined, execArgv: [...LOAD_PROCESS_FLAGS, '--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100']
      })
      await client.call('small', { url, concurrency: 32, durationMs: 1500 })
      const from = await client.call<number>('now')
      const r = await client.call<LoadResult>('small', { url, concurrency: 32, durationMs: seconds * 1000 })
      const to = await client.call<number>('now')
      await client.stop()
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) as string
      const profile = JSON.parse(readFileSync(profDir + file, 'utf8')) as Profile
      const { byCategory, byFunction } = attribute(profile, from, to)
      const scale = (m: Map<string, number>): Map<string, number> => new Map([...m].map(([k, v]) => [k, v / r.count]))
      perRequest.set(name, [...(perRequest.get(name) ?? []), scale(byCategory)])
      functions.set(name, [...(functions.get(name) ?? []), scale(byFunction)])
      cpu.set(name, [...(cpu.get(name) ?? []), r.cpuUs / r.count])
      allocation.set(name, [...(allocation.get(name) ?? []), r.allocatedBytes / r.count])
      log(`profile: ${name} round ${round + 1}: ${r.count} requests, ${(r.cpuUs / r.count).toFixed(1)} µs CPU/req (all threads), ${(r.allocatedBytes / r.count).toFixed(0)} bytes allocated/req`)
    }
  }
} finally {
  await server.stop()
}

const medianOf = (list: Array<Map<string, number>>, key: string): number => median(list.map((m) => m.get(key) ?? 0))
const categories = [...new Set([...perRequest.values()].flatMap((l) => l.flatMap((m) => [...m.keys()])))]
const totals = (name: string): number => median((perRequest.get(name) ?? []).map((m) => [...m.entries()].filter(([k]) => !k.startsWith('idle')).reduce((s, [, v]) => s + v, 0)))
categories.sort((a, b) => medianOf(perRequest.get('tls-fallback') ?? [], b) - medianOf(perRequest.get('tls-fallback') ?? [], a))
const lines: string[] = []
const header = (name: string): string => name === 'tls-fallback-alt' ? `TlsFallbackAgent, ${values.label ?? '--alt copy'}` : name === 'tls-fallback' ? 'TlsFallbackAgent' : 'undici Agent'
lines.push(`Written by \`node bench/research/profile.ts ${process.argv.slice(2).join(' ')}\` on ${new Date().toISOString()}. `)
lines.push(`Main-thread profile (--cpu-prof, 100 µs sampling) of ${seconds} s of small keep-alive GETs, 32 in flight, per contender; ${rounds} rounds, medians; µs per request by self time.\n`)
lines.push(`| where | ${contenders.map(header).join(' | ')} |`)
lines.push(`| --- | ${contenders.map(() => '---').join(' | ')} |`)
for (const c of categories) lines.push(`| ${c} | ${contenders.map((n) => medianOf(perRequest.get(n) ?? [], c).toFixed(2)).join(' | ')} |`)
const library = (name: string): number => median((perRequest.get(name) ?? []).map((m) => [...m.entries()].filter(([k]) => k.startsWith('library')).reduce((s, [, v]) => s + v, 0)))
lines.push(`| **the library, all files** | ${contenders.map((n) => library(n).toFixed(2)).join(' | ')} |`)
lines.push(`| **main thread busy (all but idle)** | ${contenders.map((n) => totals(n).toFixed(2)).join(' | ')} |`)
lines.push(`| heap allocated per request, bytes (v8.GCProfiler; does not depend on the load) | ${contenders.map((n) => median(allocation.get(n) ?? []).toFixed(0)).join(' | ')} |`)
lines.push(`| CPU per request, all threads (process.cpuUsage) | ${contenders.map((n) => median(cpu.get(n) ?? []).toFixed(2)).join(' | ')} |`)
for (const name of contenders.filter((n) => n !== 'agent')) {
  const list = functions.get(name) ?? []
  const keys = [...new Set(list.flatMap((m) => [...m.keys()]))].sort((a, b) => medianOf(list, b) - medianOf(list, a)).slice(0, 15)
  lines.push(`\nLibrary functions, ${header(name)} (self µs per request, median):\n`)
  lines.push('| function | µs/req |')
  lines.push('| --- | --- |')
  for (const k of keys) lines.push(`| ${k} | ${medianOf(list, k).toFixed(3)} |`)
}
process.stdout.write(lines.join('\n') + '\n')
if (values.out !== undefined) writeFileSync(values.out, lines.join('\n') + '\n')
