// The bench's outputs: bench/RESULTS.md (tables, machine, versions, method) and the JSON summary.
import type { AuthResult } from './auth.ts'
import { existsSync, readFileSync } from 'node:fs'
import { cpus, release, totalmem, type as osType } from 'node:os'
import type { BurstResult, BurstRow } from './burst.ts'
import { BURST_LABELS } from './burst.ts'
import { LABELS } from './contenders.ts'
import { CATEGORIES, CATEGORY_HEADINGS, CATEGORY_LABELS } from './research/callgrind.ts'
import { BASELINE, controlRatio, LOAD_PROCESS_FLAGS, type Row, type ScenarioResult } from './fast-path.ts'
import { pairedRatios, REWARM, summarize, type RatioSummary, type Summary } from './harness.ts'
import { seedFor, type InstructionsResult } from './research/instructions.ts'
import type { MemoryResult } from './memory.ts'
import { SIDE_LABELS, type RecoveryResult } from './recovery.ts'

export interface Meta {
  date: string
  mode: 'full' | 'quick'
  durationS: number
  pinned: boolean
  machine: { cpu: string, cores: number, memoryGiB: number, os: string }
  node: string
  undici: string
  library: string
  command: string
}

export interface BenchResults {
  meta: Meta
  fastPath?: ScenarioResult[] | undefined
  instructions?: InstructionsResult | undefined
  recovery?: RecoveryResult | undefined
  burst?: BurstResult | undefined
  memory?: MemoryResult | undefined
  proxy?: ScenarioResult | undefined
  auth?: AuthResult | undefined
}

function packageVersion (path: URL): string {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function machineMeta (): Pick<Meta, 'machine' | 'node' | 'undici' | 'library'> {
  return {
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
      os: `${osType()} ${release()}`
    },
    node: process.version,
    undici: packageVersion(new URL('../node_modules/undici/package.json', import.meta.url)),
    library: packageVersion(new URL('../package.json', import.meta.url))
  }
}

// ---------------------------------------------------------------- JSON

export const GOALS = {
  reqRatio: 0.98,
  /** The low end of the req/s ratio's 95% interval. */
  reqRatioLow: 0.96,
  /** Client CPU per request (all threads), ratio to the Agent. */
  cpuRatio: 1.02,
  bulkRatio: 0.95,
  latencyRatio: 1.03,
  recoveryRatio: 2.0,
  laterRatio: 1.0,
  transitions: 1,
  failedAttempts: 1,
  bytesPer100k: 30_000_000,
  proxyReqRatio: 0.97,
  authReqRatio: 0.95
} as const

function row (scenario: ScenarioResult | undefined, contender: string): Row | undefined {
  return scenario?.rows.find((r) => r.contender === contender)
}

function round (value: number | undefined, digits = 3): number | null {
  if (value === undefined || !Number.isFinite(value)) return null
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** The A/A control of the small-GET scenario: the second plain Agent over the first, with its interval. */
function controlJson (scenario: ScenarioResult | undefined): object | null {
  const c = scenario === undefined ? undefined : controlRatio(scenario)
  const cpu = scenario === undefined ? undefined : controlRatio(scenario, 'cpu')
  if (c === undefined || cpu === undefined) return null
  return { reqRatio: round(c.median), reqRatioLow: round(c.low), reqRatioHigh: round(c.high), cpuRatio: round(cpu.median), cpuRatioLow: round(cpu.low), cpuRatioHigh: round(cpu.high) }
}

/** Instructions per small GET (callgrind): TlsFallbackAgent's ratio to the Agent with its interval, and the A/A control. */
function instructionsJson (result: InstructionsResult | undefined): object | null {
  if (result === undefined) return null
  if (result.skipped !== undefined) return { skipped: result.skipped }
  const tls = result.rows.find((r) => r.contender === 'tls-fallback')
  const agent = result.rows.find((r) => r.contender === 'agent')
  return {
    ratio: round(tls?.ratio.median),
    ratioLow: round(tls?.ratio.low),
    ratioHigh: round(tls?.ratio.high),
    perRequest: round(tls?.summary.median, 0),
    agentPerRequest: round(agent?.summary.median, 0),
    libraryPerRequest: round(tls?.categories.library, 0),
    rounds: tls?.ratio.n ?? null,
    control: result.control === undefined ? null : { ratio: round(result.control.median), ratioLow: round(result.control.low), ratioHigh: round(result.control.high) }
  }
}

/** The one JSON object of `--json`: the shape of the issue, plus a few fields. */
export function summaryJson (results: BenchResults): object {
  const fast = (id: string): ScenarioResult | undefined => results.fastPath?.find((s) => s.id === id)
  const tls = (id: string): Row | undefined => row(fast(id), 'tls-fallback')
  const learning = results.recovery?.rows.find((r) => r.side === 'learning')
  const configured = results.recovery?.rows.find((r) => r.side === 'configured')
  const loadLearning = results.recovery?.load.find((r) => r.side === 'learning')
  const gate = results.burst?.iis.find((r) => r.side === 'gate')
  const noGate = results.burst?.iis.find((r) => r.side === 'no-gate')
  const memory100k = results.memory?.rows.find((r) => r.entries === 100_000 && r.variety === 'typical')
  const memory1k = results.memory?.rows.find((r) => r.entries === 1_000 && r.variety === 'typical')
  const worst100k = results.memory?.rows.find((r) => r.entries === 100_000 && r.variety === 'distinct')
  const maxFailed = (r: BurstRow | undefined): number | null => r === undefined ? null : Math.max(0, ...Object.values(r.failed))
  return {
    fastPath: results.fastPath === undefined
      ? null
      : {
          reqRatio: round(tls('small')?.ratio.median),
          bulkRatio: round(tls('bulk')?.ratio.median),
          p50Ratio: round(tls('p50')?.ratio.median),
          p99Ratio: round(tls('p99')?.ratio.median),
          reqPerSec: round(tls('small')?.summary.median, 0),
          agentReqPerSec: round(row(fast('small'), 'agent')?.summary.median, 0),
          clientCpuRatio: round(tls('small')?.cpuRatio.median),
          // Bootstrap 95% intervals of the median paired ratios, and CPU per request (all threads).
          reqRatioLow: round(tls('small')?.ratio.low),
          reqRatioHigh: round(tls('small')?.ratio.high),
          cpuRatio: round(tls('small')?.cpuRatio.median),
          cpuRatioLow: round(tls('small')?.cpuRatio.low),
          cpuRatioHigh: round(tls('small')?.cpuRatio.high),
          bulkRatioLow: round(tls('bulk')?.ratio.low),
          p50RatioHigh: round(tls('p50')?.ratio.high),
          p99RatioHigh: round(tls('p99')?.ratio.high),
          cpuPerReqUs: round(tls('small')?.cpu.median, 2),
          agentCpuPerReqUs: round(row(fast('small'), 'agent')?.cpu.median, 2),
          allocBytesPerReq: round(tls('small')?.alloc.median, 0),
          agentAllocBytesPerReq: round(row(fast('small'), 'agent')?.alloc.median, 0),
          promotedBytesPerReq: round(tls('small')?.promoted?.median, 0),
          agentPromotedBytesPerReq: round(row(fast('small'), 'agent')?.promoted?.median, 0),
          rounds: tls('small')?.ratio.n ?? null,
          control: controlJson(fast('small'))
        },
    instructions: instructionsJson(results.instructions),
    recovery: results.recovery === undefined
      ? null
      : {
          ratio: round(learning?.firstRatio.median),
          firstMs: round(learning?.first.median, 2),
          configuredFirstMs: round(configured?.first.median, 2),
          laterRatio: round(learning?.laterRatio.median),
          laterLoadRatio: round(loadLearning?.ratio.median),
          laterExtraConnections: learning === undefined || configured === undefined ? null : learning.laterConnections - configured.laterConnections
        },
    burst: results.burst === undefined
      ? null
      : {
          transitions: gate?.transitions ?? null,
          failedAttempts: maxFailed(gate),
          failedAttemptsByStack: gate?.failed ?? null,
          totalMs: round(gate?.total.median, 1),
          noGate: noGate === undefined ? null : { transitions: noGate.transitions, failedAttempts: maxFailed(noGate), totalMs: round(noGate.total.median, 1) }
        },
    memory: results.memory === undefined
      ? null
      : {
          bytesPer100k: memory100k === undefined ? null : Math.round(memory100k.bytes.median),
          bytesPer1k: memory1k === undefined ? null : Math.round(memory1k.bytes.median),
          bytesPerEntry: round(memory100k?.bytesPerEntry, 0),
          worstCaseBytesPer100k: worst100k === undefined ? null : Math.round(worst100k.bytes.median),
          worstBytesPer100k: worst100k === undefined ? null : Math.round(worst100k.bytes.median)
        },
    proxy: results.proxy === undefined
      ? null
      : {
          reqRatio: round(row(results.proxy, 'tls-fallback-proxy')?.ratio.median),
          reqPerSec: round(row(results.proxy, 'tls-fallback-proxy')?.summary.median, 0),
          proxyAgentReqPerSec: round(row(results.proxy, 'proxy-agent')?.summary.median, 0),
          clientCpuRatio: round(row(results.proxy, 'tls-fallback-proxy')?.cpuRatio.median),
          controlRatio: round(proxyControl(results.proxy)?.median)
        },
    auth: results.auth === undefined
      ? null
      : {
          reqRatio: round(row(results.auth, 'tls-fallback-auth')?.ratio.median),
          reqPerSec: round(row(results.auth, 'tls-fallback-auth')?.summary.median, 0),
          agentReqPerSec: round(row(results.auth, 'agent')?.summary.median, 0),
          clientCpuRatio: round(row(results.auth, 'tls-fallback-auth')?.cpuRatio.median),
          handshakesPer1000: round(results.auth.handshakesPer1000, 2),
          handshakesPer1000Cold: round(results.auth.handshakesPer1000Cold, 2),
          controlRatio: round(authControl(results.auth)?.median)
        },
    meta: results.meta
  }
}

// ---------------------------------------------------------------- Markdown

function n (value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function spread (s: Summary, digits = 0): string {
  return `${n(s.p25, digits)}–${n(s.p75, digits)} (${n(s.min, digits)}–${n(s.max, digits)})`
}

function ratio (s: Summary): string {
  return `${n(s.median, 3)} [${n(s.p25, 3)}–${n(s.p75, 3)}]`
}

/** A median ratio and its bootstrap 95% interval. */
function interval (s: RatioSummary): string {
  return `${n(s.median, 3)} [${n(s.low, 3)}–${n(s.high, 3)}]`
}

function verdict (value: number | undefined, op: '>=' | '<=' | '<', goal: number): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  const met = op === '>=' ? value >= goal : op === '<' ? value < goal : value <= goal
  return met ? '**met**' : '**missed**'
}

function table (header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

function fastPathSection (scenarios: ScenarioResult[]): string {
  const out: string[] = []
  for (const s of scenarios) {
    const digits = s.unit === 'ms' ? 3 : 0
    const cpuDigits = s.cpuUnit.includes('MiB') ? 0 : 1
    out.push(`### ${s.title}\n\n${s.settings}. Ratio: each round's value over the plain Agent's in the same round (the mean of both plain Agent processes when the A/A control ran); median over rounds [bootstrap 95% confidence interval of that median].\n`)
    const small = s.id === 'small'
    const per = s.cpuUnit.endsWith('MiB') ? 'MiB' : 'req'
    out.push(table(
      ['contender', `median ${s.unit}`, 'IQR (min–max)', 'ratio to Agent [95% CI]', 'goal', 'met?', `${s.cpuUnit} (all threads)`, 'CPU ratio (all threads) [95% CI]', 'main thread only', `GC pause ${s.cpuUnit.replace('client CPU ', '')}`, `heap allocated, bytes/${per}`, `promoted by scavenges, bytes/${per}`, 'handshakes', 'errors'],
      s.rows.map((r) => [
        LABELS[r.contender] ?? r.contender,
        n(r.summary.median, digits),
        spread(r.summary, digits),
        interval(r.ratio),
        r.contender === 'tls-fallback' ? `${s.goal.op} ${s.goal.ratio}${small ? `, CI low >= ${GOALS.reqRatioLow}` : ''}` : '',
        r.contender === 'tls-fallback'
          ? (small
              ? (r.ratio.median >= s.goal.ratio && r.ratio.low >= GOALS.reqRatioLow ? '**met**' : '**missed**')
              : verdict(r.ratio.median, s.goal.op, s.goal.ratio))
          : '',
        n(r.cpu.median, cpuDigits),
        interval(r.cpuRatio),
        n(r.mainCpu.median, cpuDigits),
        n(r.gc.median, cpuDigits),
        n(r.alloc.median),
        r.promoted === undefined ? '—' : n(r.promoted.median),
        String(r.handshakes),
        String(r.errors)
      ])
    ))
    const agent = row(s, 'agent')
    const tls = row(s, 'tls-fallback')
    const tracked = row(s, 'agent-tracked')
    if (s.id === 'small' && agent !== undefined && tls !== undefined) {
      out.push('\nWhere the difference comes from: the client is the bottleneck here, so req/s follows client CPU per request. ' +
        `Counting every thread of the load process (garbage collection runs partly on helper threads, on the same CPU), the Agent spends ${n(agent.cpu.median, 1)} µs per request and TlsFallbackAgent ${n(tls.cpu.median, 1)} µs, ` +
        `a paired ratio of ${interval(tls.cpuRatio)}; on the main thread alone ${n(agent.mainCpu.median, 1)} µs and ${n(tls.mainCpu.median, 1)} µs. ` +
        `Main-thread GC pauses: ${n(agent.gc.median, 1)} µs per request for the Agent, ${n(tls.gc.median, 1)} µs for TlsFallbackAgent.` +
        (agent.promoted === undefined || tls.promoted === undefined
          ? ''
          : ` The scavenges promoted ${n(agent.promoted.median)} bytes per request to the old generation for the Agent and ${n(tls.promoted.median)} for TlsFallbackAgent: what outlives the young generation is what makes collection cost (bench/NOTES.md, "What survives a scavenge").`) +
        (tracked === undefined ? '' : ` The library's connector alone (evidence counters, no fallback logic) runs at ${interval(tracked.ratio)} of the Agent${tls.ratio.median < 1 ? ': the rest of the gap is the request path' : ''}.`) +
        ' To see it: `node bench/run.ts --only fast --contenders agent,tls-fallback --profile agent,tls-fallback` writes CPU profiles to .tmp/bench-profiles.')
    }
    out.push('')
  }
  return out.join('\n')
}

/** A scenario's A/A control: the second instance of the baseline over the first, per round. */
function aaControl (s: ScenarioResult, base: string): Summary | undefined {
  const a = row(s, base)
  const b = row(s, `${base}#2`)
  return a === undefined || b === undefined ? undefined : summarize(pairedRatios(b.values, a.values))
}

/** The proxy scenario's A/A control: the second ProxyAgent over the first, per round. */
export function proxyControl (s: ScenarioResult): Summary | undefined {
  return aaControl(s, 'proxy-agent')
}

/** A row's first cells: the contender, its median and spread, its ratio, and the goal and verdict on the measured contender's row. */
function goalCells (s: ScenarioResult, r: Row, measured: string): string[] {
  const mine = r.contender === measured
  return [LABELS[r.contender] ?? r.contender, n(r.summary.median), spread(r.summary), ratio(r.ratio),
    mine ? `${s.goal.op} ${s.goal.ratio}` : '', mine ? verdict(r.ratio.median, s.goal.op, s.goal.ratio) : '']
}

function proxySection (s: ScenarioResult): string {
  const control = proxyControl(s)
  const out = [`### ${s.title}\n\n${s.settings}. Ratio: each round's value over undici's ProxyAgent's in the same round (the mean of both ProxyAgent processes); median [IQR] over rounds. ` +
    'Both open a CONNECT tunnel per connection and run TLS to the origin over it; the proxy (one Squid process, on the same 2 CPUs as everything else) is on every request\'s path.' +
    (control === undefined ? '' : ` A/A control, the second ProxyAgent process over the first: ${ratio(control)}: a verdict within that distance of its goal is not settled by this run.`) + '\n']
  out.push(table(
    ['contender', `median ${s.unit}`, 'IQR (min–max)', 'ratio to ProxyAgent', 'goal', 'met?', `${s.cpuUnit} (main thread)`, 'CPU ratio (all threads)', 'errors'],
    s.rows.map((r) => [
      ...goalCells(s, r, 'tls-fallback-proxy'),
      n(r.mainCpu.median, 1),
      n(r.cpuRatio.median, 3),
      String(r.errors)
    ])
  ))
  return out.join('\n') + '\n'
}

/** The auth scenario's A/A control: the second plain Agent over the first, per round. */
export function authControl (s: ScenarioResult): Summary | undefined {
  return aaControl(s, 'agent')
}

export function authSection (s: AuthResult): string {
  const control = authControl(s)
  const out = [`### ${s.title}\n\n${s.settings}. Ratio: each round's value over the plain Agents' in the same round (their mean); median [95% CI] over rounds. ` +
    `Handshakes per 1,000 requests: ${n(s.handshakesPer1000, 2)} once warm, ${n(s.handshakesPer1000Cold, 2)} counting the warm-up (one NTLM handshake of two HEAD legs per new connection).` +
    (control === undefined ? '' : ` A/A control, the second Agent over the first: ${ratio(control)}.`) + '\n']
  out.push(table(
    ['contender', `median ${s.unit}`, 'IQR (min–max)', 'ratio to Agent', 'goal', 'met?', s.cpuUnit, 'CPU ratio', 'handshakes', 'errors'],
    s.rows.map((r) => [
      ...goalCells(s, r, 'tls-fallback-auth'),
      n(r.cpu.median, 1),
      n(r.cpuRatio.median, 3),
      String(r.handshakes),
      String(r.errors)
    ])
  ))
  return out.join('\n') + '\n'
}

function recoverySection (r: RecoveryResult): string {
  const learning = r.rows.find((x) => x.side === 'learning')
  const configured = r.rows.find((x) => x.side === 'configured')
  const out = [`### 4. Recovery: the first request to an IIS-like host (ms)\n\n${r.settings}. Ratio: over the configured agent of the same round.\n`]
  out.push(table(
    ['client', 'first request, median ms', 'IQR (min–max)', 'ratio to configured', 'goal', 'met?', 'connections for the first request', 'later requests, median ms', 'later ratio', 'connections / renegotiations during later requests', 'errors'],
    r.rows.map((x) => [
      SIDE_LABELS[x.side],
      n(x.first.median, 1),
      spread(x.first, 1),
      x.side === 'configured' ? '1 (baseline)' : ratio(x.firstRatio),
      x.side === 'learning' ? `<= ${GOALS.recoveryRatio}` : '',
      x.side === 'learning' ? verdict(x.firstRatio.median, '<=', GOALS.recoveryRatio) : '',
      n(x.firstConnections / Math.max(1, x.first.n), 1),
      n(x.later.median, 3),
      x.side === 'configured' ? '1' : ratio(x.laterRatio),
      `${x.laterConnections} / ${x.laterRenegotiations}`,
      String(x.errors)
    ])
  ))
  if (learning?.failedAttempt !== undefined && configured !== undefined) {
    out.push(`\nWhere the learning agent's time goes: its strict attempt fails after ${n(learning.failedAttempt.median, 1)} ms ` +
      `(median; handshake, request, the server's HelloRequest held ${'20'} ms by the relay, the declined renegotiation, the reset); ` +
      `the replay on the renegotiation stack then costs what the configured agent's whole request costs (${n(configured.first.median, 1)} ms). ` +
      'Any client that has to find out by failing pays that failed attempt once: ' +
      `the bound is 1 + failed attempt / configured request ≈ ${n(1 + learning.failedAttempt.median / configured.first.median, 2)}.`)
  }
  if (r.load.length > 0) {
    out.push(`\n#### 4b. Later requests under load (req/s), once the policy is known\n\n${r.loadSettings}.\n`)
    out.push(table(
      ['client', 'median req/s', 'IQR (min–max)', 'ratio to configured', 'goal', 'met?', 'new connections / renegotiations in the windows', 'errors'],
      r.load.map((x) => [
        SIDE_LABELS[x.side],
        n(x.reqPerSec.median),
        spread(x.reqPerSec),
        x.side === 'configured' ? '1 (baseline)' : ratio(x.ratio),
        x.side === 'learning' ? `>= ${GOALS.laterRatio.toFixed(2)} (within noise)` : '',
        x.side === 'learning' ? (x.ratio.p75 >= 1 ? 'within noise' : '**below**') : '',
        `${x.connections} / ${x.renegotiations}`,
        String(x.errors)
      ])
    ))
  }
  return out.join('\n')
}

function burstSection (b: BurstResult): string {
  const fmt = (record: Record<string, number>): string => {
    const entries = Object.entries(record)
    return entries.length === 0 ? '0' : entries.map(([k, v]) => `${k} ${n(v)}`).join(', ')
  }
  const out = [`### 5. Cold burst: concurrent first requests to an IIS-like host\n\n${b.settings}. Failed attempts: strict = the server's refused renegotiations; other = attempts that did not end in the response.\n`]
  out.push(table(
    ['client', 'total ms, median', 'IQR (min–max)', 'ratio to configured', 'p50 / max request ms', 'policy transitions (goal 1)', 'attempts per stack', 'failed attempts per stack (goal <= 1)', 'met?', 'connections / renegotiations', 'errors'],
    b.iis.map((x) => {
      const maxFailed = Math.max(0, ...Object.values(x.failed))
      return [
        BURST_LABELS[x.side],
        n(x.total.median),
        spread(x.total),
        x.side === 'configured' ? '1 (baseline)' : ratio(x.totalRatio),
        `${n(x.p50.median)} / ${n(x.max.median)}`,
        n(x.transitions),
        fmt(x.attempts),
        fmt(x.failed),
        x.side === 'gate' ? (x.transitions === GOALS.transitions && maxFailed <= GOALS.failedAttempts ? '**met**' : '**missed**') : '',
        `${n(x.connections)} / ${n(x.renegotiations)}`,
        String(x.errors) + (x.firstError === undefined ? '' : ` (${x.firstError})`)
      ]
    })
  ))
  out.push('\nThe gated burst can finish sooner than the configured agent\'s: its 200 connections start after the first request answered and can resume that connection\'s TLS session, where the configured agent starts 200 full handshakes at once (5b counts resumptions on a healthy host; the IIS-like server does not report them).')
  out.push('\n#### 5b. What the gate costs: the same burst to a healthy host\n\n' +
    'The gate holds the other first requests until the first one answered: one handshake and one request of latency, once per origin. ' +
    'It also lets them resume the first connection\'s TLS session (undici caches sessions per host), where 200 connections started at once all make full handshakes: see the resumed column.\n')
  out.push(table(
    ['client', 'total ms, median', 'IQR (min–max)', 'ratio to Agent', 'p50 / max request ms', 'connections (TLS sessions resumed)', 'errors'],
    b.healthy.map((x) => [
      BURST_LABELS[x.side],
      n(x.total.median),
      spread(x.total),
      x.side === 'agent' ? '1 (baseline)' : ratio(x.totalRatio),
      `${n(x.p50.median)} / ${n(x.max.median)}`,
      `${n(x.connections)} (${n(x.resumed)})`,
      String(x.errors)
    ])
  ))
  return out.join('\n')
}

function memorySection (m: MemoryResult): string {
  const out = [`### 6. Memory: heap per cached policy entry\n\n${m.settings}.\n`]
  out.push(table(
    ['evidence', 'entries', 'heap, median', 'min–max', 'bytes per entry', 'of which the origin key and its Map slot', 'goal', 'met?'],
    m.rows.map((x) => [
      x.label,
      n(x.entries),
      `${n(x.bytes.median / 1e6, 2)} MB`,
      `${n(x.bytes.min / 1e6, 2)}–${n(x.bytes.max / 1e6, 2)} MB`,
      n(x.bytesPerEntry),
      n(x.keysOnlyPerEntry),
      x.entries === 100_000 ? '< 30 MB' : '',
      x.entries === 100_000 ? verdict(x.bytes.median, '<', GOALS.bytesPer100k) : ''
    ])
  ))
  const typical = m.rows.find((x) => x.entries === 100_000 && x.variety === 'typical')
  const distinct = m.rows.find((x) => x.entries === 100_000 && x.variety === 'distinct')
  if (typical !== undefined && distinct !== undefined) {
    out.push('\nWhat bounds the worst case: caches share equal evidence objects (up to 4,096 distinct values; src/policy/entry.ts). ' +
      'Past that bound, when every entry\'s evidence differs, MemoryPolicyCache packs the evidence into its entry (src/policy/packed-entry.ts): the three byte counts in hidden slots of the entry, ' +
      'the rest (strings, record counts, the verdict) in a shared frozen template, and `entry.evidence` a getter that rebuilds an equal object at each read. ' +
      `That costs ${n(distinct.bytesPerEntry - typical.bytesPerEntry)} bytes more per entry than the typical case (an evidence object of its own cost 120), on top of the ${n(typical.bytesPerEntry)} bytes ` +
      'that the origin key, its Map slot, the entry object and its two timestamps (heap numbers) take by themselves.')
  }
  out.push(`\nAn entry as stored:\n\n\`\`\`json\n${JSON.stringify(m.sample)}\n\`\`\``)
  return out.join('\n')
}

type Figures = Record<string, Record<string, unknown> | null | undefined>

/**
 * Before and after, figure by figure: the figures of bench/BASELINE.json (a run before a change, by
 * hand) beside this run's. Nothing when the file is missing.
 */
function beforeAfterSection (results: BenchResults): string {
  const path = new URL('./BASELINE.json', import.meta.url)
  if (!existsSync(path)) return ''
  const before = JSON.parse(readFileSync(path, 'utf8')) as Figures & { source?: string }
  const after = summaryJson(results) as Figures
  const control = (after.fastPath as { control?: { reqRatio?: number } } | null | undefined)?.control
  if (after.fastPath !== null && after.fastPath !== undefined) after.fastPath = { ...after.fastPath, controlReqRatio: control?.reqRatio }
  const figures: Array<[string, string, string, number]> = [
    ['fast path, small GET: req/s ratio to Agent', 'fastPath', 'reqRatio', 3],
    ['fast path, small GET: client CPU per request (all threads), ratio to Agent', 'fastPath', 'cpuRatio', 3],
    ['fast path, small GET: A/A control (second Agent / first)', 'fastPath', 'controlReqRatio', 3],
    ['fast path, small GET: instructions per request (callgrind), ratio to Agent', 'instructions', 'ratio', 3],
    ['fast path, small GET: instructions per request in the library\'s own JavaScript', 'instructions', 'libraryPerRequest', 0],
    ['fast path, 16 MiB bodies: MiB/s ratio', 'fastPath', 'bulkRatio', 3],
    ['fast path latency: p50 ratio', 'fastPath', 'p50Ratio', 3],
    ['fast path latency: p99 ratio', 'fastPath', 'p99Ratio', 3],
    ['recovery: first request, ratio to configured', 'recovery', 'ratio', 3],
    ['recovery: later requests, ratio', 'recovery', 'laterRatio', 3],
    ['recovery: later requests under load, req/s ratio', 'recovery', 'laterLoadRatio', 3],
    ['recovery: extra connections for later requests', 'recovery', 'laterExtraConnections', 0],
    ['cold burst: policy transitions', 'burst', 'transitions', 0],
    ['cold burst: failed attempts per stack (max)', 'burst', 'failedAttempts', 0],
    ['cold burst: total ms (gate on)', 'burst', 'totalMs', 0],
    ['memory: 100,000 entries, typical evidence (MB)', 'memory', 'bytesPer100k', -6],
    ['memory: 100,000 entries, every evidence distinct (MB)', 'memory', 'worstBytesPer100k', -6]
  ]
  const value = (figures: Figures, group: string, key: string, digits: number): string => {
    const v = figures[group]?.[key]
    if (typeof v !== 'number') return '—'
    return digits < 0 ? n(v / 10 ** -digits, 2) : n(v, digits)
  }
  const rows = figures
    .filter(([, group]) => after[group] !== null && after[group] !== undefined)
    .map(([label, group, key, digits]) => [label, value(before, group, key, digits), value(after, group, key, digits)])
  if (rows.length === 0) return ''
  return `\n## Before and after\n\nBefore: ${before.source ?? 'bench/BASELINE.json'}. After: this run. Ratios from runs on different days and machines loads compare only roughly: within a run, the paired ratios and their intervals are what count.\n\n` +
    table(['figure', 'before', 'after'], rows)
}

function instructionsSection (result: InstructionsResult): string {
  if (result.skipped !== undefined) return `Not measured: ${result.skipped}. ${result.settings}.`
  const out: string[] = []
  out.push(`${result.settings}. Ratio: each round's count over the plain Agent's of the same round (the mean of both plain Agent processes when the A/A control ran); median over rounds [bootstrap 95% confidence interval of that median]. Columns after the ratio: the median over rounds of the instructions per request executed in each kind of code (self cost: a function's callees count where they run): ${CATEGORIES.map((c) => `${CATEGORY_HEADINGS[c]}: ${CATEGORY_LABELS[c]}`).join('; ')}.\n`)
  const header = ['contender', 'instructions per request', 'IQR (min–max)', 'ratio to Agent [95% CI]', ...CATEGORIES.map((c) => CATEGORY_HEADINGS[c]), 'full GCs in the measured requests', 'connections opened', 'errors']
  out.push(table(header, result.rows.map((r) => [
    LABELS[r.contender] ?? r.contender,
    n(r.summary.median),
    spread(r.summary),
    interval(r.ratio),
    ...CATEGORIES.map((c) => n(r.categories[c])),
    String(r.majorGcs),
    String(r.connections),
    r.errors === 0 ? '0' : `${r.errors} (${r.firstError ?? ''})`
  ])))
  const tls = result.rows.find((r) => r.contender === 'tls-fallback')
  const agent = result.rows.find((r) => r.contender === 'agent')
  if (tls !== undefined && agent !== undefined) {
    // Where the difference comes from: a gap in one kind of code the library does not run (V8's
    // builtins in Node's task queues, say) is the process's state, not the library's work.
    const signed = (v: number): string => `${v >= 0 ? '+' : '−'}${n(Math.abs(v))}`
    out.push('\nTlsFallbackAgent minus the plain Agent, instructions per request, by kind of code (medians over rounds):\n')
    out.push(table(['all', ...CATEGORIES.map((c) => CATEGORY_HEADINGS[c])], [[signed(tls.summary.median - agent.summary.median), ...CATEGORIES.map((c) => signed(tls.categories[c] - agent.categories[c]))]]))
  }
  if (tls !== undefined && tls.library.length > 0) {
    out.push('\nTlsFallbackAgent\'s own functions, by the instructions each executed per request (self cost, median over rounds; V8\'s names, with the line of the function):\n')
    out.push(table(['function', 'instructions per request', 'share of all instructions'], tls.library.map((f) => [
      `\`${f.name}\``, n(f.instructions), `${n(f.instructions / tls.summary.median * 100, 2)}%`
    ])))
  }
  out.push('\nHow to read it: valgrind\'s callgrind counts the instructions a process executes (user space, every thread), so a count does not depend on what else the machine is doing. Node runs with V8\'s `--predictable` (no background compilation or GC threads, a fixed GC schedule), `--random-seed=<round + 1>` and the young generation\'s size fixed as in every load process (without it, the size V8 chose by a process\'s history set the old generation\'s limit after the forced collection, and in 1df0117\'s full run every TlsFallbackAgent process ran a full collection inside the measured requests, no plain Agent process one): the same contender with the same seed gave counts within 1% of each other in two runs (the plain Agent 162,263 and 162,212 instructions per request, TlsFallbackAgent 154,553 and 152,978), whatever else the machine was doing. After the warm-up, the child forces a full collection, with the next requests already in flight, and sends ' + n(REWARM) + ' more requests (the collection drops compiled code V8 deems old) before the measured ones (collected with no request alive, undici\'s request objects took their maps with them and V8 discarded the optimized code that used those maps: 53 functions in a TlsFallbackAgent process after 1df0117, which then compiled again inside the measured requests): without it, whether one of a process\'s rare full collections fell inside the measured requests decided the count (the plain Agent: 247,795 instructions per request in a process with one there, 152,655 in one without). The full GCs column counts any that still ran there. What a different seed changes is the state V8 reaches in that process (which property loads stay monomorphic, when the heap grows), which is also what makes two real processes differ for their whole life; so each round is a fresh process with its own seed, and the A/A control (the second plain Agent, seeds ' + String(seedFor(`${BASELINE}#2`, 0)) + ' and up) shows how far that alone moves the count. Instructions are not time (a cache miss costs more than an add), and under valgrind a process runs about 50 times slower, so timers fire more often per request than they would; the counts compare the contenders\' work, not their speed. The difference table says where a gap comes from: the library\'s column is its own JavaScript; a gap in code the library does not run (V8\'s builtins, say: the generic property-load handler, called from Node\'s task queues when their loads have gone megamorphic in that process) is the state V8 reached in those processes, not the library\'s work.')
  return out.join('\n')
}

/** Where each microsecond goes: bench/research/PROFILE.md (`node bench/research/profile.ts --out bench/research/PROFILE.md`), not measured by this run. */
function profileSection (): string {
  if (!existsSync(new URL('./research/PROFILE.md', import.meta.url))) return ''
  return '\n## Where each microsecond goes (profile)\n\nNot part of this run: [research/PROFILE.md](research/PROFILE.md), written by `node bench/research/profile.ts`, attributes a small GET\'s microseconds to the library, undici, Node and GC; `node bench/run.ts --only instructions` counts its instructions under callgrind (bench/research/).\n'
}

export function markdown (results: BenchResults): string {
  const { meta } = results
  const out: string[] = []
  out.push('# Benchmark results\n')
  out.push(`Written by \`${meta.command}\` on ${meta.date} (${meta.mode} run, ${n(meta.durationS)} s).\n`)
  out.push(table(['', ''], [
    ['machine', `${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGiB} GiB, ${meta.machine.os}`],
    ['Node', meta.node],
    ['undici', meta.undici],
    ['undici-tls-fallback', meta.library],
    ['CPU pinning', meta.pinned ? 'server processes on CPU 0, the measured client on CPU 1 (taskset)' : 'none']
  ]))
  out.push('\n## Summary\n')
  const summary = summaryJson(results) as Record<string, Record<string, unknown> | null>
  const fp = summary.fastPath
  const rec = summary.recovery
  const bu = summary.burst
  const mem = summary.memory
  const px = summary.proxy
  const goalRows: string[][] = []
  const goal = (name: string, value: unknown, text: string, met: boolean | undefined, control = ''): void => {
    goalRows.push([name, typeof value === 'number' ? n(value, 3) : String(value ?? '—'), text, met === undefined ? '—' : met ? '**met**' : '**missed**', control])
  }
  const scenarioOf = (id: string): ScenarioResult | undefined => results.fastPath?.find((s) => s.id === id)
  const control = (id: string, pick: 'value' | 'cpu' = 'value'): string => {
    const scenario = scenarioOf(id)
    const c = scenario === undefined ? undefined : controlRatio(scenario, pick)
    return c === undefined ? '' : interval(c)
  }
  const measured = (id: string, pick: 'ratio' | 'cpuRatio' = 'ratio'): RatioSummary | undefined => row(scenarioOf(id), 'tls-fallback')?.[pick]
  const fastGoal = (name: string, id: string, op: '>=' | '<=', target: number, pick: 'ratio' | 'cpuRatio' = 'ratio', low?: number): void => {
    const r = measured(id, pick)
    const met = r === undefined || !Number.isFinite(r.median)
      ? undefined
      : (op === '>=' ? r.median >= target : r.median <= target) && (low === undefined || r.low >= low)
    goalRows.push([name, r === undefined ? '—' : interval(r), `${op} ${target}${low === undefined ? '' : `, CI low >= ${low}`}`, met === undefined ? '—' : met ? '**met**' : '**missed**', control(id, pick === 'ratio' ? 'value' : 'cpu')])
  }
  if (fp !== null && fp !== undefined) {
    fastGoal('1. fast path, small GET: req/s ratio to Agent', 'small', '>=', GOALS.reqRatio, 'ratio', GOALS.reqRatioLow)
    fastGoal('1. fast path, small GET: client CPU per request (all threads), ratio to Agent', 'small', '<=', GOALS.cpuRatio, 'cpuRatio')
  }
  const counted = results.instructions?.rows.find((r) => r.contender === 'tls-fallback')
  if (counted !== undefined) {
    const c = results.instructions?.control
    goalRows.push(['1. fast path, small GET: instructions per request (callgrind, counted), ratio to Agent', interval(counted.ratio), `<= ${GOALS.cpuRatio}`, verdict(counted.ratio.median, '<=', GOALS.cpuRatio), c === undefined ? '' : interval(c)])
  }
  if (fp !== null && fp !== undefined) {
    fastGoal('2. fast path, 16 MiB bodies: MiB/s ratio', 'bulk', '>=', GOALS.bulkRatio)
    fastGoal('3. fast path latency: p50 ratio', 'p50', '<=', GOALS.latencyRatio)
    fastGoal('3. fast path latency: p99 ratio', 'p99', '<=', GOALS.latencyRatio)
  }
  if (rec !== null && rec !== undefined) {
    goal('4. recovery: first request, ratio to configured', rec.ratio, `<= ${GOALS.recoveryRatio}`, typeof rec.ratio === 'number' ? rec.ratio <= GOALS.recoveryRatio : undefined)
    goal('4. later requests: extra connections vs configured', rec.laterExtraConnections, '0', rec.laterExtraConnections === 0)
    goal('4. later requests under load: req/s ratio', rec.laterLoadRatio, '1.00 (within noise)', undefined)
  }
  if (bu !== null && bu !== undefined) {
    goal('5. cold burst: policy transitions', bu.transitions, '1', bu.transitions === GOALS.transitions)
    goal('5. cold burst: failed attempts per stack (max)', bu.failedAttempts, `<= ${GOALS.failedAttempts}`, typeof bu.failedAttempts === 'number' ? bu.failedAttempts <= GOALS.failedAttempts : undefined)
  }
  if (mem !== null && mem !== undefined) {
    goal('6. memory: 100,000 entries (MB), typical evidence', typeof mem.bytesPer100k === 'number' ? mem.bytesPer100k / 1e6 : null, '< 30', typeof mem.bytesPer100k === 'number' ? mem.bytesPer100k < GOALS.bytesPer100k : undefined)
    goal('6. memory: 100,000 entries (MB), every evidence distinct', typeof mem.worstBytesPer100k === 'number' ? mem.worstBytesPer100k / 1e6 : null, '< 30', typeof mem.worstBytesPer100k === 'number' ? mem.worstBytesPer100k < GOALS.bytesPer100k : undefined)
  }
  if (px !== null && px !== undefined) {
    const c = results.proxy === undefined ? undefined : proxyControl(results.proxy)
    goal('7. behind a proxy, small GET: req/s ratio to ProxyAgent', px.reqRatio, `>= ${GOALS.proxyReqRatio}`, typeof px.reqRatio === 'number' ? px.reqRatio >= GOALS.proxyReqRatio : undefined, c === undefined ? '' : ratio(c))
  }
  const au = summary.auth
  if (au !== null && au !== undefined) {
    const c = results.auth === undefined ? undefined : authControl(results.auth)
    goal('8. Windows auth (NTLM), warm keep-alive GET: req/s ratio to Agent without auth', au.reqRatio, `>= ${GOALS.authReqRatio}`, typeof au.reqRatio === 'number' ? au.reqRatio >= GOALS.authReqRatio : undefined, c === undefined ? '' : ratio(c))
  }
  out.push(table(['goal', 'measured: median [95% CI]', 'target', 'met?', 'A/A control: second Agent / first, median [95% CI]'], goalRows))
  out.push('\nThe A/A control is the noise floor of the same measurement: two processes running identical code, paired round by round as the contenders are. ' +
    'The intervals are percentile bootstrap 95% confidence intervals of the median paired ratio (10,000 resamples, each drawing blocks of fresh load processes and then rounds within them; seeded: the same rounds give the same interval). ' +
    'A goal is met when the median meets it (and, for the small-GET req/s ratio, the interval\'s low end is >= 0.96); a verdict whose interval straddles its target is not settled by this run.')
  out.push('\n## Method\n')
  out.push([
    '- Every contender is called through undici\'s `request()` and gets the same TLS options (`connect: { ca }`, the test CA); TlsFallbackAgent gets a pino logger at its default level (`info`) writing to /dev/null: a settled request logs nothing, and pino\'s `isLevelEnabled(\'debug\')` lets the agent skip building per-attempt debug lines, as in production. The naive fallback is a strict Agent (`SSL_OP_NO_RENEGOTIATION`) and, on `ECONNRESET` or `UND_ERR_SOCKET`, the same request again through a lenient Agent; it remembers nothing.',
    '- Servers are loopback HTTPS servers in their own process (`bench/server.ts`; the IIS-like one is `test/servers/iis.ts`: TLS 1.2, a HelloRequest after reading a `/secure` request, a reset when it is declined). The fast-path load runs in one process per contender (`bench/client.ts`), so that no contender runs with another\'s state (TlsFallbackAgent subscribes to `undici:client:sendHeaders` for the whole process), and fresh processes measure each block of rounds: a process keeps its own bias for its whole life (two processes running identical code differed by up to 10% for as long as they ran, and by 2–3x while the VM\'s neighbours were busy), so one process per contender would stand for all of them. Recovery and burst clients run in the orchestrating process, one at a time.',
    '- Rounds are interleaved, every contender once per round, the order rotated by one each round and reversed every other round (A B C D, A D C B, C D A B, C B A D, ...), with a pause between two measurements (a process that made garbage keeps collecting it on helper threads for a moment, and all load processes share one CPU). Each block\'s processes get 1.5 s to finish starting, then warm up one by one (connections open, code compiled), a different one first in each block: the process warmed first, beside the others\' start-up, kept a smaller young generation for the rest of its life (GC pauses of 1.4 µs per request against 0.4), and when that was always the first plain Agent, the A/A control read 1.075 [1.015–1.210]. Values are medians over rounds; spread is the interquartile range and the min–max. Ratios are paired: each round\'s value over the baseline\'s in the same round, so that the machine\'s drift cancels; their median is shown with a percentile bootstrap 95% confidence interval (bench/stats.ts: 10,000 resamples, each drawing the blocks with replacement and then rounds within each drawn block, so that a process\'s own bias widens the interval instead of passing for signal; a seeded PRNG, so a report is reproducible from its rounds).',
    '- Every load process runs with a young generation of one fixed size, V8\'s own maximum (`' + LOAD_PROCESS_FLAGS.join(' ') + '`, `LOAD_PROCESS_FLAGS` in bench/fast-path.ts: the size a busy process grows to). V8 otherwise sizes it by what a process has lived through, and that decided a process\'s whole life: in bulk, a process with a small new space freed the response chunks in scavenges (1,060-1,340 MiB/s), one with a large one in full collections triggered by the chunks\' external memory (650-1,080 MiB/s), by chance. With the flags, the bulk A/A control\'s spread between blocks fell from 0.148 to 0.076 (sd of the log ratio).',
    '- `--together` runs the small GET\'s contenders in the same window instead, each load process in a session of its own (Linux shares a CPU fairly between sessions, and between threads within one). Contenders measured together meet the same moment of the VM, and the A/A control tightens to about ±3%; but six processes on one CPU also put each one\'s heap and caches in a state none has alone (TlsFallbackAgent\'s ratio moved from 0.8 to 2 with a V8 heap flag that left the plain Agent\'s in place), so it is not the default.',
    '- Fast path: HTTP/1.1 keep-alive (the server keeps idle connections 60 s, so no handshake happens in a measured window: see the handshakes column), small JSON answers, a fixed number of requests in flight. Client CPU is measured in the load process (`process.threadCpuUsage()` for the main thread, `process.cpuUsage()` for all threads: garbage collection runs partly on helper threads); so are the heap bytes allocated (the heap\'s growth between collections, from `v8.GCProfiler`), a figure that does not depend on how loaded the machine is, and the bytes the scavenges promoted to the old generation (what each scavenge added to the old generation\'s spaces): what outlives the young generation, which is what collection costs.',
    '- Recovery: a fresh server and a fresh client for each measurement, so neither side resumes a TLS session. undici opens a second connection once for back-to-back sequential requests (every client, plain Agent included), which is why the configured client also shows one connection and one renegotiation during its later requests: compare the learning client with it.',
    '- Memory: a fresh child process with `--expose-gc` for every measurement (the library shares equal evidence and interns strings in module-level tables); heapUsed after four full collections, before and after filling a `MemoryPolicyCache`.',
    '- The machine is a shared 2-core VM: throughput drifts by up to 2x over minutes, and two processes running the same code can differ by 10% or more for their whole life (see the A/A column). Only paired ratios are meaningful, and the full run carries a control: a second plain Agent process (A/A: the noise floor; the baseline is the mean of both); `--control` adds a plain Agent on the library\'s own connector (what the evidence counters cost apart from the request path). In a full run, RetryAgent and the naive fallback are measured on the small GET only. The client CPU and GC columns are steadier than throughput and show where a gap comes from.'
  ].join('\n'))
  if (results.fastPath !== undefined) out.push(`\n## Fast path\n\n${fastPathSection(results.fastPath)}`)
  if (results.instructions !== undefined) out.push(`\n## Instructions per request (counted, not timed)\n\n${instructionsSection(results.instructions)}`)
  if (results.recovery !== undefined) out.push(`\n## Recovery\n\n${recoverySection(results.recovery)}`)
  if (results.burst !== undefined) out.push(`\n## Cold burst\n\n${burstSection(results.burst)}`)
  if (results.memory !== undefined) out.push(`\n## Memory\n\n${memorySection(results.memory)}`)
  if (results.proxy !== undefined) out.push(`\n## Behind a proxy\n\n${proxySection(results.proxy)}`)
  if (results.auth !== undefined) out.push(`\n## Windows authentication\n\n${authSection(results.auth)}`)
  if (results.fastPath !== undefined) out.push(profileSection())
  out.push(beforeAfterSection(results))
  return out.join('\n') + '\n'
}
