// Scenario 8: Windows authentication (hosts[...].auth), warm. Keep-alive GETs through
// TlsFallbackAgent to Apache's NTLM location (mod_auth_gssapi + gss-ntlmssp, bound to the
// connection) against a plain undici Agent to the same Apache's location without auth, same run,
// rounds interleaved; every ratio is paired with the plain Agents of the same round. Also the
// handshakes per 1,000 requests (the auth channel's events over the requests sent).
// The clients run in this process, one contender at a time (the fast path's separate load
// processes are built for one origin server worker; Apache here is its own process).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Agent, request, type Dispatcher } from 'undici'
import { TlsFallbackAgent } from '../src/index.ts'
import { startApacheAuth } from '../test/servers/apache-auth.ts'
import { certs } from '../test/servers/certs.ts'
import { rows, type Measured, type ScenarioResult } from './fast-path.ts'
import { interleave, log, sleep } from './harness.ts'
import type { ProxyConfig } from './proxy.ts'

/** The proxy scenario's settings without its blocks of load processes (the clients run here). */
export type AuthConfig = Omit<ProxyConfig, 'blocks' | 'pin'>

export const AUTH_BASELINE = 'agent'
export const AUTH_CONTENDERS = [AUTH_BASELINE, `${AUTH_BASELINE}#2`, 'tls-fallback-auth'] as const

export interface AuthResult extends ScenarioResult {
  /** Connection handshakes per 1,000 requests over the measured rounds (warm connections: 0 unless one closed). */
  handshakesPer1000: number
  /** The same, counting the warm-up (the connections' first handshakes) over every request sent. */
  handshakesPer1000Cold: number
}

async function load (dispatcher: Dispatcher, url: string, concurrency: number, ms: number): Promise<{ requests: number, errors: number, cpuUs: number, firstError?: string }> {
  const until = performance.now() + ms
  let requests = 0
  let errors = 0
  let firstError: string | undefined
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      try {
        const response = await request(url, { dispatcher })
        await response.body.dump()
        if (response.statusCode === 200) requests++
        else { errors++; firstError ??= `status ${response.statusCode}` }
      } catch (error) {
        errors++
        firstError ??= String((error as { code?: string }).code ?? error)
      }
    }
  }))
  const used = process.cpuUsage(cpu)
  return { requests, errors, cpuUs: used.user + used.system, ...(firstError === undefined ? {} : { firstError }) }
}

export async function runAuth (config: AuthConfig): Promise<AuthResult> {
  const apache = await startApacheAuth()
  let handshakes = 0
  const onAuth = (): void => { handshakes++ }
  subscribe('undici-tls-fallback:auth', onAuth)
  const origin = `https://localhost:${apache.port}`
  const auth = { scheme: 'ntlm' as const, username: apache.ntlm.username, password: apache.ntlm.password, domain: apache.ntlm.domain }
  const dispatchers: Record<string, Dispatcher> = {
    agent: new Agent({ connect: { ca: certs.ca }, connections: config.concurrency, allowH2: false }),
    'agent#2': new Agent({ connect: { ca: certs.ca }, connections: config.concurrency, allowH2: false }),
    'tls-fallback-auth': new TlsFallbackAgent({ connect: { ca: certs.ca }, connections: config.concurrency, hosts: { [`localhost:${apache.port}`]: { auth } } })
  }
  const urls: Record<string, string> = { agent: `${origin}/open/`, 'agent#2': `${origin}/open/`, 'tls-fallback-auth': `${origin}/ntlm/` }
  try {
    let authTotal = 0
    for (const name of AUTH_CONTENDERS) {
      const warm = await load(dispatchers[name]!, urls[name]!, config.concurrency, config.warmupMs)
      if (name === 'tls-fallback-auth') authTotal += warm.requests
    }
    const warmHandshakes = handshakes
    log(`auth: keep-alive GETs, NTLM location vs the same Apache without auth, ${config.concurrency} in flight, ${config.rounds} rounds of ${config.windowMs} ms per contender (warm-up: ${warmHandshakes} handshakes)`)
    let measuredRequests = 0
    const measured = await interleave([...AUTH_CONTENDERS], config.rounds, async (name): Promise<Measured> => {
      const before = handshakes
      const r = await load(dispatchers[name]!, urls[name]!, config.concurrency, config.windowMs)
      if (name === 'tls-fallback-auth') measuredRequests += r.requests
      const per = Math.max(1, r.requests)
      return { value: r.requests / (config.windowMs / 1000), cpu: r.cpuUs / per, mainCpu: r.cpuUs / per, gc: 0, alloc: 0, errors: r.errors, firstError: r.firstError, handshakes: handshakes - before }
    }, config.settleMs)
    const authRequests = measuredRequests
    return {
      id: 'auth-small',
      title: '8. Windows authentication: keep-alive GETs to an NTLM location, warm (req/s)',
      unit: 'req/s',
      cpuUnit: 'client CPU µs/req',
      goal: { op: '>=', ratio: 0.95 },
      rows: rows([...AUTH_CONTENDERS], { measured, groups: Array.from({ length: config.rounds }, (_, i) => i) }, AUTH_BASELINE),
      settings: `Apache 2.4 (prefork, mod_ssl, mod_auth_gssapi + gss-ntlmssp, GssapiConnectionBound On) on loopback, ${config.concurrency} requests in flight over ${config.concurrency} keep-alive connections, ` +
        `TlsFallbackAgent with hosts[...].auth NTLM on /ntlm/ against plain undici Agents on /open/ (same server, no auth), ${config.rounds} rounds × ${config.windowMs} ms per contender after ${config.warmupMs} ms of warm-up each; clients in the bench process, one contender at a time`,
      handshakesPer1000: authRequests === 0 ? 0 : (handshakes - warmHandshakes) / authRequests * 1000,
      handshakesPer1000Cold: handshakes / Math.max(1, authTotal + measuredRequests) * 1000
    }
  } finally {
    unsubscribe('undici-tls-fallback:auth', onAuth)
    for (const d of Object.values(dispatchers)) await d.close()
    await sleep(0)
    await apache.close()
  }
}
