// Scenario 7: the fast path behind a proxy. TlsFallbackAgent (`proxy` option) against undici's
// ProxyAgent, both through the same Squid (started here, as the tests start it), same run, rounds
// interleaved; every ratio is paired with ProxyAgent of the same round.
import { startSquid } from '../test/servers/squid.ts'
import { measureScenario, rows, smallGetRounds, startClients, type ScenarioResult } from './fast-path.ts'
import { log } from './harness.ts'
import { canPin, startWorker } from './ipc.ts'

export interface ProxyConfig {
  rounds: number
  /** Blocks of rounds, each measured by fresh load processes. */
  blocks: number
  warmupMs: number
  windowMs: number
  concurrency: number
  settleMs: number
  pin: boolean
}

export const PROXY_BASELINE = 'proxy-agent'
/** `proxy-agent#2` is a second ProxyAgent process: the A/A control (the noise floor of this run). */
export const PROXY_CONTENDERS = [PROXY_BASELINE, `${PROXY_BASELINE}#2`, 'tls-fallback-proxy'] as const

export async function runProxy (config: ProxyConfig): Promise<ScenarioResult> {
  const pinning = config.pin && canPin
  const squid = await startSquid({ tls: false })
  const server = await startWorker(new URL('./server.ts', import.meta.url), { cpus: pinning ? '0' : undefined })
  const previous = process.env.BENCH_PROXY
  try {
    process.env.BENCH_PROXY = `http://127.0.0.1:${squid.open}`
    const { id, port } = await server.call<{ id: number, port: number }>('start', { kind: 'fast' })
    log(`proxy: small GET through Squid, ${config.concurrency} in flight, ${config.rounds} rounds of ${config.windowMs} ms per contender`)
    const measured = await measureScenario({
      server,
      serverId: id,
      contenders: [...PROXY_CONTENDERS],
      rounds: config.rounds,
      blocks: config.blocks,
      settleMs: config.settleMs,
      start: async () => await startClients([...PROXY_CONTENDERS], pinning),
      ...smallGetRounds(`https://localhost:${port}/small`, config.concurrency, config.warmupMs, config.windowMs)
    })
    return {
      id: 'proxy-small',
      title: '7. Behind a proxy: small GET through Squid, keep-alive (req/s)',
      unit: 'req/s',
      cpuUnit: 'client CPU µs/req',
      goal: { op: '>=', ratio: 0.97 },
      rows: rows([...PROXY_CONTENDERS], measured, PROXY_BASELINE),
      groups: measured.groups,
      settings: `Squid (Debian squid, one process, no cache) on loopback, CONNECT tunnels, ${config.concurrency} requests in flight, HTTP/1.1 keep-alive through the tunnels, ` +
        `${config.rounds} rounds × ${config.windowMs} ms per contender after ${config.warmupMs} ms of warm-up`
    }
  } finally {
    if (previous === undefined) delete process.env.BENCH_PROXY
    else process.env.BENCH_PROXY = previous
    await server.stop()
    await squid.close()
  }
}
