import type { ResolvedTls } from './connector.ts'
import type { Diagnosis } from './fingerprint.ts'
import { hostAndPort } from './policy/origin.ts'
import { openTunnel } from './proxy/open.ts'
import type { Proxy } from './proxy/options.ts'
import { checkRfc5746, type Rfc5746Check } from './rfc5746.ts'
import type { StackName } from './stacks.ts'
import type { Telemetry } from './telemetry.ts'

/** What an RFC 5746 check needs from the agent: the host's TLS options, its proxy, and the TCP options. */
export interface LegacyCheckRoutes {
  resolveTls: (stack: StackName, hostname: string, port: number) => ResolvedTls
  proxyFor: (protocol: string, hostname: string, port: number) => Proxy | undefined
  readonly tcp: Record<string, unknown>
}

/**
 * Whether a completed handshake shows that a server really lacks RFC 5746: the strict failure alone
 * can be forged by stripping renegotiation_info from one hello. Concurrent requests to one origin
 * share one check.
 */
export class LegacyChecks {
  /** RFC 5746 checks in flight, per origin. */
  readonly #checks = new Map<string, Promise<Rfc5746Check>>()
  readonly #routes: LegacyCheckRoutes
  readonly #telemetry: Telemetry
  readonly #timeout: number
  readonly #signal: AbortSignal

  constructor (routes: LegacyCheckRoutes, telemetry: Telemetry, timeout: number, signal: AbortSignal) {
    this.#routes = routes
    this.#telemetry = telemetry
    this.#timeout = timeout
    this.#signal = signal
  }

  /** Returns the diagnosis with verified evidence when a completed handshake confirms it, else undefined. */
  async confirm (origin: string, url: URL, diagnosis: Diagnosis): Promise<Diagnosis | undefined> {
    let check = this.#checks.get(origin)
    if (check === undefined) {
      const { hostname, port } = hostAndPort(url)
      const timeout = this.#timeout
      const routes = this.#routes
      // The check takes the same way as the host's requests: through its proxy, when it has one.
      const proxy = routes.proxyFor('https:', hostname, port)
      const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
      check = checkRfc5746({
        host: hostname,
        port,
        tls: routes.resolveTls('legacy-server-connect', hostname, port).options,
        tcp: routes.tcp as Record<string, never>,
        tunnel: proxy === undefined
          ? undefined
          : (done) => { openTunnel(proxy, { host, port, tcp: routes.tcp, timeout, origin }, done) },
        timeout,
        signal: this.#signal
      }).finally(() => { this.#checks.delete(origin) })
      this.#checks.set(origin, check)
    }
    const result = await check
    if (result.verdict === 'lacks-rfc5746') {
      return {
        fingerprint: diagnosis.fingerprint,
        evidence: {
          ...diagnosis.evidence,
          tlsVersion: diagnosis.evidence.tlsVersion ?? result.tlsVersion,
          verified: true,
          summary: `${diagnosis.evidence.summary}; a completed handshake confirmed it: ${result.summary}`
        }
      }
    }
    if (result.verdict === 'supports-rfc5746') {
      this.#telemetry.warn({ origin, fingerprint: diagnosis.fingerprint, check: result.summary },
        `${origin}: a strict handshake was refused for lack of RFC 5746, but ${result.summary}: ` +
        'that hello was altered on the way (or the server is inconsistent); nothing is learned')
    } else {
      this.#telemetry.info({ origin, fingerprint: diagnosis.fingerprint, check: result.summary },
        `${origin}: could not confirm that the server lacks RFC 5746 (${result.summary}); nothing is learned`)
    }
    return undefined
  }
}
