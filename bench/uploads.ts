// Scenario 8: large uploads (issue 31). 1 MB POSTs through TlsFallbackAgent to the IIS-like server
// that renegotiates for the client certificate after the request (uploadReadAheadSize 49152: without
// priming every one gets 413), warm (the origin's renegotiation policy learned, its primed
// connections open), against a plain undici Agent posting the same bodies to the same server built
// to ask for the certificate up front (TLS 1.3, `tls13CertUpFront`): the limit, what an upload costs
// where no priming is needed. Rounds interleaved, ratios paired within a round, with the A/A control
// (a second plain Agent). Also: the extra requests (priming HEADs) per 100 uploads, counted by the
// server, in the measured rounds and for a cold agent's first 100.
import { randomBytes } from 'node:crypto'
import { Agent, request, type Dispatcher } from 'undici'
import { TlsFallbackAgent } from '../src/index.ts'
import { certs } from '../test/servers/certs.ts'
import { interleave, log, pairedRatios, summarize, summarizeRatios, type RatioSummary, type Summary } from './harness.ts'
import { canPin, startWorker } from './ipc.ts'

export interface UploadsConfig {
  rounds: number
  /** Uploads per contender per round (sequential, `concurrency` at a time). */
  uploads: number
  concurrency: number
  /** Uploads per contender before the first round. */
  warmup: number
  settleMs: number
  /** Pin the servers' process to CPU 0 (the orchestrator, where the clients run, is on CPU 1). */
  pin: boolean
}

export const UPLOAD_BYTES = 1_000_000
const CONTENDERS = ['agent', 'agent#2', 'tls-fallback'] as const
type Contender = typeof CONTENDERS[number]

export interface UploadsResult {
  /** MB/s per contender, over rounds. */
  rows: Array<{ contender: Contender, summary: Summary, ratio: RatioSummary | undefined }>
  /** The A/A control: the second plain Agent over the first. */
  control: RatioSummary
  /** Priming HEADs per 100 uploads in the measured rounds (warm). */
  extraPer100Warm: number
  /** Requests other than the uploads (the strict stack's failed priming, the priming HEADs) per 100 uploads for a cold agent's first 100. */
  extraPer100Cold: number
  /** 413s the server sent in the measured rounds (0: every upload was primed). */
  tooLarge: number
  settings: string
}

async function upload (dispatcher: Dispatcher, url: string, body: Buffer): Promise<void> {
  const response = await request(url, { method: 'POST', body, dispatcher })
  await response.body.dump()
  if (response.statusCode !== 200) throw new Error(`upload answered ${response.statusCode}`)
}

/** `count` uploads, `concurrency` at a time; MB/s. */
async function uploads (dispatcher: Dispatcher, url: string, body: Buffer, count: number, concurrency: number): Promise<number> {
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next += 1
      await upload(dispatcher, url, body)
    }
  }))
  return (count * body.length / 1e6) / ((performance.now() - started) / 1000)
}

interface IisStats { notPosts: number, tooLarge: number }

export async function runUploads (config: UploadsConfig): Promise<UploadsResult> {
  const body = randomBytes(UPLOAD_BYTES)
  const clientCert = { cert: certs.clientCert, key: certs.clientKey }
  // Both servers in a process of their own (bench/server.ts), as the other scenarios' servers.
  const server = await startWorker(new URL('./server.ts', import.meta.url), { cpus: config.pin && canPin ? '0' : undefined })
  const agents: Dispatcher[] = []
  try {
    const iis = await server.call<{ id: number, port: number }>('start', { kind: 'iis', options: { uploadReadAheadSize: 49_152 } })
    const upFront = await server.call<{ id: number, port: number }>('start', { kind: 'iis', options: { tls13CertUpFront: true } })
    const stats = async (): Promise<IisStats> => await server.call<IisStats>('stats', { id: iis.id })
    const renegotiating = `https://localhost:${iis.port}/secure/upload`
    const limit = `https://localhost:${upFront.port}/secure/upload`
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
    const plain = (): Agent => new Agent({ connect: { ca: certs.ca, ...clientCert } })
    const fallback = (): TlsFallbackAgent => new TlsFallbackAgent({ connect: { ca: certs.ca }, logger, hosts: { localhost: { clientCert } } })

    // A cold agent's first 100 uploads: what finding the stack and priming cost in requests.
    const cold = fallback()
    agents.push(cold)
    const before = await stats()
    await uploads(cold, renegotiating, body, 100, config.concurrency)
    const coldExtra = (await stats()).notPosts - before.notPosts

    const dispatchers: Record<Contender, Dispatcher> = { agent: plain(), 'agent#2': plain(), 'tls-fallback': fallback() }
    agents.push(...Object.values(dispatchers))
    const urls: Record<Contender, string> = { agent: limit, 'agent#2': limit, 'tls-fallback': renegotiating }
    for (const contender of CONTENDERS) await uploads(dispatchers[contender], urls[contender], body, config.warmup, config.concurrency)
    const warm = await stats()
    log(`uploads: 1 MB POSTs, ${config.concurrency} at a time, ${config.rounds} rounds of ${config.uploads} per contender`)
    const measured = await interleave(CONTENDERS, config.rounds, async (contender) =>
      await uploads(dispatchers[contender], urls[contender], body, config.uploads, config.concurrency), config.settleMs)
    const after = await stats()
    const measuredUploads = config.rounds * config.uploads
    // The baseline of each round: the mean of both plain Agents (see bench/harness.ts `baseline`).
    const base = measured.agent.map((value, i) => (value + (measured['agent#2'][i] as number)) / 2)
    return {
      rows: CONTENDERS.map((contender) => ({
        contender,
        summary: summarize(measured[contender]),
        ratio: contender === 'tls-fallback' ? summarizeRatios(pairedRatios(measured[contender], base)) : undefined
      })),
      control: summarizeRatios(pairedRatios(measured['agent#2'], measured.agent)),
      extraPer100Warm: (after.notPosts - warm.notPosts) * 100 / measuredUploads,
      extraPer100Cold: coldExtra,
      tooLarge: after.tooLarge - warm.tooLarge,
      settings: 'both servers in their own process (bench/server.ts: the IIS-like server of test/servers/iis.ts behind its TCP relay, uploadReadAheadSize 49152, TLS 1.2 after renegotiation; ' +
        `the same server asking for the certificate in a TLS 1.3 handshake for the plain Agents), the clients in the orchestrating process, ${config.concurrency} uploads at a time, ` +
        `${config.rounds} rounds × ${config.uploads} uploads per contender after ${config.warmup} of warm-up`
    }
  } finally {
    await Promise.all(agents.map(async (agent) => { await agent.close() }))
    await server.stop()
  }
}

function fmt (value: number | undefined, digits = 3): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
}

/** The section of bench/RESULTS.md. */
export function uploadsSection (r: UploadsResult): string {
  const tf = r.rows.find((row) => row.contender === 'tls-fallback')
  const lines = [
    '1 MB POSTs (`uploadPriming`, issue 31): TlsFallbackAgent to a server that renegotiates for the client certificate after the request (primed connections, warm), against a plain undici Agent to the same server asking for the certificate up front (the limit); ' +
      `${r.settings}.`,
    '',
    '| contender | MB/s median [p25–p75] | ratio to Agent, median [95% CI] | goal |',
    '|---|---|---|---|',
    ...r.rows.map((row) => `| ${row.contender} | ${fmt(row.summary.median, 0)} [${fmt(row.summary.p25, 0)}–${fmt(row.summary.p75, 0)}] | ` +
      `${row.ratio === undefined ? (row.contender === 'agent#2' ? `A/A ${fmt(r.control.median)} [${fmt(r.control.low)}–${fmt(r.control.high)}]` : '—') : `${fmt(row.ratio.median)} [${fmt(row.ratio.low)}–${fmt(row.ratio.high)}]`} | ` +
      `${row.contender === 'tls-fallback' ? `>= 0.9: ${tf?.ratio !== undefined && tf.ratio.median >= 0.9 ? '**met**' : '**missed**'}` : ''} |`),
    '',
    `Extra requests per 100 uploads: ${fmt(r.extraPer100Warm, 1)} warm (priming HEADs: one per new connection), ${fmt(r.extraPer100Cold, 0)} for a cold agent's first 100 (the strict stack's failed priming, then one priming per connection); 413s in the measured rounds: ${r.tooLarge}.`
  ]
  return lines.join('\n')
}
