// Scenario 4: recovery. The first request to an IIS-like host that renegotiates under /secure,
// through a fresh TlsFallbackAgent that must find out, against a fresh one already configured with
// the right stack. Servers run in the server process; the clients here, one at a time.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { certs } from '../test/servers/certs.ts'
import { CHANNELS, type AttemptEvent } from '../src/index.ts'
import { makeContender, type Contender } from './contenders.ts'
import { interleave, log, median, pairedRatios, sleep, summarize, type Summary } from './harness.ts'
import { startWorker, type Worker } from './ipc.ts'

export interface RecoveryConfig {
  rounds: number
  /** Sequential requests after the first one, per round. */
  later: number
  /** Also run the later requests under load: this many in flight for this long, per round. */
  load: { concurrency: number, durationMs: number, rounds: number }
  cpus?: { server: string, client: string } | undefined
}

export const SIDES = ['configured', 'learning', 'naive', 'agent'] as const
export type Side = typeof SIDES[number]

export const SIDE_LABELS: Record<Side, string> = {
  configured: 'TlsFallbackAgent, host configured (`stack: \'renegotiation\'`)',
  learning: 'TlsFallbackAgent, host unknown (learns)',
  naive: 'naive fallback (catch, retry lenient)',
  agent: 'undici Agent (Node\'s default: accepts renegotiation for every host)'
}

interface IisStats { connections: number, requests: number, renegotiations: number, refused: number }

export interface SideRow {
  side: Side
  /** Time of the first request, ms, per round. */
  first: Summary
  firstRatio: Summary
  /** For the learning agent: when its strict attempt had failed and the fallback attempt started, ms. */
  failedAttempt: Summary | undefined
  /** Median of the later requests' times, ms, per round. */
  later: Summary
  laterRatio: Summary
  /** Server-side TCP connections and renegotiations during the later requests (all rounds). */
  laterConnections: number
  laterRenegotiations: number
  /** During the first request (all rounds). */
  firstConnections: number
  errors: number
  firstError?: string | undefined
}

export interface LoadRow {
  side: Side
  reqPerSec: Summary
  ratio: Summary
  /** Connections and renegotiations the server saw during the measured windows. */
  connections: number
  renegotiations: number
  errors: number
}

export interface RecoveryResult {
  rows: SideRow[]
  load: LoadRow[]
  settings: string
  loadSettings: string
}

function contender (side: Side): Promise<Contender> {
  switch (side) {
    case 'configured':
      return makeContender('tls-fallback', certs.ca, { hosts: { localhost: { stack: 'renegotiation' } } })
    case 'learning':
      return makeContender('tls-fallback', certs.ca)
    default:
      return makeContender(side, certs.ca)
  }
}

async function timed (c: Contender, url: string): Promise<number> {
  const started = performance.now()
  const response = await c.send(url)
  await response.body.text()
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
  return performance.now() - started
}

interface Measured {
  first: number
  failedAttempt: number | undefined
  later: number
  laterConnections: number
  laterRenegotiations: number
  firstConnections: number
  errors: number
  firstError?: string | undefined
}

/** One cycle: a fresh server and a fresh client, the first request, then the later ones. */
async function cycle (server: Worker, side: Side, later: number): Promise<Measured> {
  const { id, port } = await server.call<{ id: number, port: number }>('start', { kind: 'iis', options: { onRefused: 'reset' } })
  const origin = `https://localhost:${port}`
  const c = await contender(side)
  let fallbackAt: number | undefined
  let started = 0
  const onAttempt = (message: unknown): void => {
    const event = message as AttemptEvent
    if (event.origin === origin && event.reason === 'fallback' && fallbackAt === undefined) fallbackAt = performance.now() - started
  }
  subscribe(CHANNELS.attempt, onAttempt)
  const m: Measured = { first: Number.NaN, failedAttempt: undefined, later: Number.NaN, laterConnections: 0, laterRenegotiations: 0, firstConnections: 0, errors: 0 }
  try {
    const before = await server.call<IisStats>('stats', { id })
    started = performance.now()
    m.first = await timed(c, `${origin}/secure/first`)
    m.failedAttempt = fallbackAt
    const afterFirst = await server.call<IisStats>('stats', { id })
    m.firstConnections = afterFirst.connections - before.connections
    const times: number[] = []
    for (let i = 0; i < later; i++) times.push(await timed(c, `${origin}/secure/later`))
    const afterLater = await server.call<IisStats>('stats', { id })
    m.later = median(times)
    m.laterConnections = afterLater.connections - afterFirst.connections
    m.laterRenegotiations = afterLater.renegotiations - afterFirst.renegotiations
  } catch (error) {
    m.errors += 1
    m.firstError = String((error as { code?: string }).code ?? (error as Error).message)
  } finally {
    unsubscribe(CHANNELS.attempt, onAttempt)
    await c.close()
    await server.call('close', { id })
  }
  return m
}

/** Later requests under load: req/s once the origin's policy is known (learned, or configured). */
async function loadWindow (server: Worker, side: Side, c: Contender, url: string, concurrency: number, durationMs: number, id: number): Promise<{ rps: number, connections: number, renegotiations: number, errors: number }> {
  const before = await server.call<IisStats>('stats', { id })
  let count = 0
  let errors = 0
  const started = performance.now()
  const deadline = started + durationMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      try {
        await timed(c, url)
        count += 1
      } catch {
        errors += 1
      }
    }
  }))
  const elapsed = performance.now() - started
  const after = await server.call<IisStats>('stats', { id })
  return { rps: count / (elapsed / 1000), connections: after.connections - before.connections, renegotiations: after.renegotiations - before.renegotiations, errors }
}

export async function runRecovery (config: RecoveryConfig): Promise<RecoveryResult> {
  const server = await startWorker(new URL('./server.ts', import.meta.url), { cpus: config.cpus?.server })
  try {
    log(`recovery: first request to an IIS-like /secure path, ${config.rounds} rounds, fresh server and agent each time`)
    // Warm-up: one untimed cycle per side (module code, TLS paths, the JIT).
    for (const side of SIDES) await cycle(server, side, 2)
    const measured = await interleave(SIDES, config.rounds, async (side) => await cycle(server, side, config.later), 100)
    const base = measured.configured
    const rows: SideRow[] = SIDES.map((side) => {
      const list = measured[side]
      const failed = list.map((m) => m.failedAttempt).filter((x): x is number => x !== undefined)
      return {
        side,
        first: summarize(list.map((m) => m.first)),
        firstRatio: summarize(pairedRatios(list.map((m) => m.first), base.map((m) => m.first))),
        failedAttempt: failed.length === 0 ? undefined : summarize(failed),
        later: summarize(list.map((m) => m.later)),
        laterRatio: summarize(pairedRatios(list.map((m) => m.later), base.map((m) => m.later))),
        laterConnections: list.reduce((s, m) => s + m.laterConnections, 0),
        laterRenegotiations: list.reduce((s, m) => s + m.laterRenegotiations, 0),
        firstConnections: list.reduce((s, m) => s + m.firstConnections, 0),
        errors: list.reduce((s, m) => s + m.errors, 0),
        firstError: list.find((m) => m.firstError !== undefined)?.firstError
      }
    })

    log(`recovery: later requests under load, ${config.load.concurrency} in flight, learned vs configured`)
    const loadSides = ['configured', 'learning'] as const
    const { id, port } = await server.call<{ id: number, port: number }>('start', { kind: 'iis', options: { onRefused: 'reset' } })
    const origin = `https://localhost:${port}`
    const clients = new Map<Side, Contender>()
    const results = new Map<Side, Array<{ rps: number, connections: number, renegotiations: number, errors: number }>>()
    try {
      for (const side of loadSides) {
        const c = await contender(side)
        clients.set(side, c)
        // The learning agent learns here; then both open their connections (each renegotiates once).
        await timed(c, `${origin}/secure/first`)
        await loadWindow(server, side, c, `${origin}/secure/load`, config.load.concurrency, Math.min(1000, config.load.durationMs * 2), id)
        results.set(side, [])
      }
      await sleep(50)
      const windows = await interleave(loadSides, config.load.rounds, async (side) =>
        await loadWindow(server, side, clients.get(side) as Contender, `${origin}/secure/load`, config.load.concurrency, config.load.durationMs, id), 200)
      for (const side of loadSides) results.set(side, windows[side])
    } finally {
      for (const c of clients.values()) await c.close()
      await server.call('close', { id })
    }
    const baseLoad = results.get('configured') as Array<{ rps: number }>
    const load: LoadRow[] = loadSides.map((side) => {
      const list = results.get(side) as Array<{ rps: number, connections: number, renegotiations: number, errors: number }>
      return {
        side,
        reqPerSec: summarize(list.map((x) => x.rps)),
        ratio: summarize(pairedRatios(list.map((x) => x.rps), baseLoad.map((x) => x.rps))),
        connections: list.reduce((s, x) => s + x.connections, 0),
        renegotiations: list.reduce((s, x) => s + x.renegotiations, 0),
        errors: list.reduce((s, x) => s + x.errors, 0)
      }
    })
    return {
      rows,
      load,
      settings: `${config.rounds} interleaved rounds; each measurement uses a fresh IIS-like server (TLS 1.2, resets when its HelloRequest is declined; its relay holds server bytes 20 ms during a renegotiation) and a fresh client, so no TLS session is resumed on either side; then ${config.later} sequential later requests on the same client`,
      loadSettings: `one server, one client per side (policy learned or configured, connections open), ${config.load.concurrency} requests in flight, ${config.load.rounds} rounds × ${config.load.durationMs} ms per side`
    }
  } finally {
    await server.stop()
  }
}
