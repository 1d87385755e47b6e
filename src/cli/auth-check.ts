import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { TlsFallbackAgent } from '../agent.ts'
import type { AuthOptions } from '../auth/options.ts'
import type { AuthHandshakeEvent } from '../telemetry.ts'
import type { ProxySetting } from '../proxy/options.ts'
import type { ClientCertificate, StackName } from '../stacks.ts'
import { CHANNELS } from '../telemetry.ts'

/**
 * The probe's `--auth` check: once a stack works, one request through a `TlsFallbackAgent` pinned
 * to that stack with `hosts[...].auth`, watching the auth channel. What it reports holds no secret:
 * the scheme, what ran, the legs, the outcome and the server's status (never a token or header).
 */

export interface AuthCheck {
  scheme: 'ntlm' | 'negotiate'
  /** `ntlm` or `kerberos`; null when no handshake ran. */
  mechanism: string | null
  /** `authenticated`, `rejected` (the server's 401/403), `failed`, or null when no handshake ran. */
  outcome: AuthHandshakeEvent['outcome'] | null
  legs: number
  /** The server proved its identity (Kerberos mutual authentication). */
  mutual: boolean
  /** The status of the request itself. */
  status: number | null
  /** The error code when the request failed (`TLS_FALLBACK_AUTH_*`, ...). */
  error: string | null
}

export interface AuthCheckOptions {
  url: URL
  method: string
  stack: StackName
  http1Only: boolean
  auth: AuthOptions
  ca: Buffer | undefined
  clientCert: ClientCertificate | undefined
  /** The proxy as `hosts[...].proxy` takes it, `auth` included (`agentOptions` has none: it left `--proxy-auth` out). */
  proxy: ProxySetting | undefined
  timeout: number
}

export async function checkAuth (options: AuthCheckOptions): Promise<AuthCheck> {
  const port = options.url.port === '' ? '' : `:${options.url.port}`
  const host = `${options.url.hostname}${port}`
  const agent = new TlsFallbackAgent({
    ...(options.ca === undefined ? {} : { connect: { ca: options.ca } }),
    connectTimeout: options.timeout,
    headersTimeout: options.timeout,
    bodyTimeout: options.timeout,
    logger: { debug () {}, info () {}, warn () {}, error () {} },
    hosts: {
      [host]: {
        auth: options.auth,
        stack: options.stack,
        ...(options.stack === 'strict' ? {} : { fallback: [options.stack] }),
        ...(options.clientCert === undefined ? {} : { clientCert: options.clientCert }),
        ...(options.proxy === undefined ? {} : { proxy: options.proxy })
      }
    }
  })
  const events: AuthHandshakeEvent[] = []
  const listener = (message: unknown): void => { events.push(message as AuthHandshakeEvent) }
  subscribe(CHANNELS.auth, listener)
  const check: AuthCheck = { scheme: options.auth.scheme, mechanism: null, outcome: null, legs: 0, mutual: false, status: null, error: null }
  try {
    const response = await agent.request({ origin: options.url.origin, path: `${options.url.pathname}${options.url.search}`, method: options.method })
    await response.body.dump()
    check.status = response.statusCode
  } catch (error) {
    check.error = String((error as { code?: string }).code ?? 'error')
  } finally {
    unsubscribe(CHANNELS.auth, listener)
    await agent.destroy()
  }
  const last = events.at(-1)
  if (last !== undefined) {
    check.mechanism = last.mechanism ?? null
    check.outcome = last.outcome
    check.legs = last.legs
    check.mutual = last.mutual
  }
  return check
}
