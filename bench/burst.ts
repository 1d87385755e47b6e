// Scenario 5: a cold burst. 200 concurrent first requests through a fresh client: to an IIS-like
// host (how many transitions, how many failed attempts per stack), and to a healthy host (what the
// cold-start gate costs when nothing needs a fallback).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { certs } from '../test/servers/certs.ts'
import { CHANNELS, type AttemptEvent, type DiagnosisEvent, type FallbackEvent } from '../src/index.ts'
import { makeContender, type Contender } from './contenders.ts'
import { interleave, log, pairedRatios, quantileSorted, summarize, type Summary } from './harness.ts'
import { startWorker, type Worker } from './ipc.ts'

export interface BurstConfig {
  size: number
  rounds: number
  cpus?: { server: string, client: string } | undefined
}

export const IIS_SIDES = ['gate', 'no-gate', 'configured', 'naive'] as const
export const HEALTHY_SIDES = ['agent', 'gate', 'no-gate'] as const
type IisSide = typeof IIS_SIDES[number]
type HealthySide = typeof HEALTHY_SIDES[number]
type Side = IisSide | HealthySide

export const BURST_LABELS: Record<Side, string> = {
  gate: 'TlsFallbackAgent (cold-start gate on, default)',
  'no-gate': 'TlsFallbackAgent, `coldStartTimeout: 0` (gate off)',
  configured: 'TlsFallbackAgent, host configured (`stack: \'renegotiation\'`)',
  naive: 'naive fallback (catch, retry lenient)',
  agent: 'undici Agent'
}

interface Stats { connections?: number, handshakes?: number, resumed?: number, renegotiations?: number, refused?: number }

interface Measured {
  totalMs: number
  p50Ms: number
  maxMs: number
  transitions: number
  attempts: Record<string, number>
  diagnoses: Record<string, number>
  /** Attempts that failed, per stack (strict: the server's refusals; others: the rest). */
  failed: Record<string, number>
  connections: number
  /** TLS sessions resumed (the healthy host's server counts them). */
  resumed: number
  renegotiations: number
  errors: number
  firstError?: string | undefined
}

export interface BurstRow {
  side: Side
  total: Summary
  totalRatio: Summary
  p50: Summary
  max: Summary
  /** Medians over rounds. */
  transitions: number
  attempts: Record<string, number>
  failed: Record<string, number>
  connections: number
  resumed: number
  renegotiations: number
  errors: number
  firstError?: string | undefined
}

export interface BurstResult {
  iis: BurstRow[]
  healthy: BurstRow[]
  settings: string
}

function contender (side: Side): Promise<Contender> {
  switch (side) {
    case 'gate':
      return makeContender('tls-fallback', certs.ca)
    case 'no-gate':
      return makeContender('tls-fallback', certs.ca, { coldStartTimeout: 0 })
    case 'configured':
      return makeContender('tls-fallback', certs.ca, { hosts: { localhost: { stack: 'renegotiation' } } })
    default:
      return makeContender(side, certs.ca)
  }
}

function count (record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1
}

async function burst (server: Worker, side: Side, kind: 'iis' | 'fast', size: number): Promise<Measured> {
  const { id, port } = await server.call<{ id: number, port: number }>('start', { kind, options: { onRefused: 'reset' } })
  const origin = `https://localhost:${port}`
  const c = await contender(side)
  const m: Measured = { totalMs: 0, p50Ms: 0, maxMs: 0, transitions: 0, attempts: {}, diagnoses: {}, failed: {}, connections: 0, resumed: 0, renegotiations: 0, errors: 0 }
  const listeners: Array<[string, (message: unknown) => void]> = [
    [CHANNELS.attempt, (e) => { if ((e as AttemptEvent).origin === origin) count(m.attempts, (e as AttemptEvent).stack) }],
    [CHANNELS.diagnosis, (e) => { if ((e as DiagnosisEvent).origin === origin) count(m.diagnoses, (e as DiagnosisEvent).stack) }],
    [CHANNELS.fallback, (e) => { if ((e as FallbackEvent).origin === origin) m.transitions += 1 }]
  ]
  for (const [name, fn] of listeners) subscribe(name, fn)
  const path = kind === 'iis' ? '/secure/burst' : '/small'
  try {
    const before = await server.call<Stats>('stats', { id })
    const started = performance.now()
    const times = await Promise.all(Array.from({ length: size }, async (_, i) => {
      try {
        const response = await c.send(`${origin}${path}/${i}`)
        await response.body.text()
        if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
      } catch (error) {
        m.errors += 1
        m.firstError ??= String((error as { code?: string }).code ?? (error as Error).message)
      }
      return performance.now() - started
    }))
    m.totalMs = performance.now() - started
    const sorted = Float64Array.from(times).sort()
    m.p50Ms = quantileSorted(sorted, 0.5)
    m.maxMs = sorted[sorted.length - 1] as number
    const after = await server.call<Stats>('stats', { id })
    m.connections = (after.connections ?? after.handshakes ?? 0) - (before.connections ?? before.handshakes ?? 0)
    m.renegotiations = (after.renegotiations ?? 0) - (before.renegotiations ?? 0)
    m.resumed = (after.resumed ?? 0) - (before.resumed ?? 0)
    // Every strict attempt the server refused failed; whatever else failed was on the other stacks.
    const refused = (after.refused ?? 0) - (before.refused ?? 0)
    const attempts = Object.values(m.attempts).reduce((s, n) => s + n, 0)
    if (refused > 0) m.failed.strict = refused
    const otherFailed = attempts - (size - m.errors) - refused
    if (otherFailed > 0) m.failed.other = otherFailed
    if (side === 'naive') m.attempts = { strict: size, lenient: refused }
  } finally {
    for (const [name, fn] of listeners) unsubscribe(name, fn)
    await c.close()
    await server.call('close', { id })
  }
  return m
}

function medianOf (values: number[]): number {
  return summarize(values).median
}

function rows<S extends Side> (sides: readonly S[], measured: Record<S, Measured[]>, base: S): BurstRow[] {
  const baseTotals = measured[base].map((m) => m.totalMs)
  return sides.map((side) => {
    const list = measured[side]
    const keys = (pick: (m: Measured) => Record<string, number>): Record<string, number> => {
      const names = new Set(list.flatMap((m) => Object.keys(pick(m))))
      return Object.fromEntries([...names].map((k) => [k, medianOf(list.map((m) => pick(m)[k] ?? 0))]))
    }
    return {
      side,
      total: summarize(list.map((m) => m.totalMs)),
      totalRatio: summarize(pairedRatios(list.map((m) => m.totalMs), baseTotals)),
      p50: summarize(list.map((m) => m.p50Ms)),
      max: summarize(list.map((m) => m.maxMs)),
      transitions: medianOf(list.map((m) => m.transitions)),
      attempts: keys((m) => m.attempts),
      failed: keys((m) => m.failed),
      connections: medianOf(list.map((m) => m.connections)),
      resumed: medianOf(list.map((m) => m.resumed)),
      renegotiations: medianOf(list.map((m) => m.renegotiations)),
      errors: list.reduce((s, m) => s + m.errors, 0),
      firstError: list.find((m) => m.firstError !== undefined)?.firstError
    }
  })
}

export async function runBurst (config: BurstConfig): Promise<BurstResult> {
  const server = await startWorker(new URL('./server.ts', import.meta.url), { cpus: config.cpus?.server })
  try {
    log(`cold burst: ${config.size} concurrent first requests, IIS-like host, ${config.rounds} rounds`)
    for (const side of IIS_SIDES) await burst(server, side, 'iis', Math.min(20, config.size))
    const iis = await interleave(IIS_SIDES, config.rounds, async (side) => await burst(server, side, 'iis', config.size), 300)
    log(`cold burst: ${config.size} concurrent first requests, healthy host, ${config.rounds} rounds`)
    for (const side of HEALTHY_SIDES) await burst(server, side, 'fast', Math.min(20, config.size))
    const healthy = await interleave(HEALTHY_SIDES, config.rounds, async (side) => await burst(server, side, 'fast', config.size), 300)
    return {
      iis: rows(IIS_SIDES, iis, 'configured'),
      healthy: rows(HEALTHY_SIDES, healthy, 'agent'),
      settings: `${config.size} requests started at once through a fresh client, to a fresh server; ${config.rounds} interleaved rounds; counts are medians over rounds`
    }
  } finally {
    await server.stop()
  }
}
