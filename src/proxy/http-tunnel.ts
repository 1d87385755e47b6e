import type tls from 'node:tls'
import { channel } from 'node:diagnostics_channel'
import { parseChallenges } from '../auth/challenge.ts'
import { tlsServerEndPoint } from '../auth/channel-bindings.ts'
import { AuthSession } from '../auth/session.ts'
import { TlsFallbackError } from '../errors.ts'
import { escapeOutside } from '../outside-text.ts'
import { CHANNELS, type ProxyAuthEvent } from '../telemetry.ts'
import { ConnectAnswerReader, type ConnectAnswer } from './connect-answer.ts'
import type { Proxy } from './options.ts'
import { MAX_PROXY_HEAD, TunnelSetup, type TunnelCallback, type TunnelTarget } from './tunnel.ts'

/** NTLM takes two legs from us, Kerberos one (SPNEGO may take one more): a fourth is a loop. */
export const MAX_AUTH_LEGS = 3

const proxyAuthChannel = channel(CHANNELS.proxyAuth)

/**
 * An HTTP CONNECT tunnel (RFC 9110 section 9.3.6) through an http:// or https:// proxy. Any 2xx opens
 * the tunnel; any other answer (407, 403, 502, 503, ...) fails with `TLS_FALLBACK_PROXY_ERROR` and
 * the proxy's status. With `proxy.auth` (NTLM, Negotiate) each CONNECT carries the handshake's next
 * `Proxy-Authorization`, every leg on this one connection (a 407's body is drained first), a fresh
 * handshake per tunnel (a Kerberos token is never replayed), at most `MAX_AUTH_LEGS` legs: a 407 that
 * no longer continues the handshake is a refusal of the credentials. The proxy's answers never reach
 * the origin's byte counters: the caller takes its marks once the tunnel is up.
 */
export class HttpTunnel extends TunnelSetup {
  /** The proxy's answer so far, read incrementally and bounded (head, 407 body, chunk lines). */
  readonly #answer = new ConnectAnswerReader(MAX_PROXY_HEAD)
  #session: AuthSession | undefined
  /** 407s received in this tunnel's handshake. */
  #challenges = 0
  /** While a leg is being computed (GSSAPI is asynchronous), bytes from the proxy are not expected. */
  #busy = false

  constructor (proxy: Proxy, target: TunnelTarget, callback: TunnelCallback) {
    super(proxy, target, callback)
    if (proxy.auth === undefined) {
      this.#send(undefined)
    } else if (proxy.protocol === 'https:') {
      // Channel bindings name the proxy's certificate: the session starts once its TLS is up.
      this.stream.once('secureConnect', () => { this.#startAuth() })
    } else {
      this.#startAuth()
    }
  }

  /** The configured scheme (`ntlm`, `negotiate`), for messages and telemetry. */
  get #scheme (): 'ntlm' | 'negotiate' { return this.proxy.auth?.scheme ?? 'negotiate' }

  #send (authorization: string | undefined): void {
    let request = `CONNECT ${this.authority} HTTP/1.1\r\nhost: ${this.authority}\r\n`
    for (const [name, value] of Object.entries(this.proxy.headers)) request += `${name}: ${value}\r\n`
    if (authorization !== undefined) request += `proxy-authorization: ${authorization}\r\n`
    this.stream.write(`${request}\r\n`)
  }

  #startAuth (): void {
    const auth = this.proxy.auth
    if (auth === undefined || this.done) return
    const certificate = this.proxy.protocol === 'https:' ? (this.stream as tls.TLSSocket).getPeerX509Certificate?.()?.raw : undefined
    let session: AuthSession
    try {
      session = new AuthSession(auth, { host: this.proxy.hostname, ...(certificate === undefined ? {} : { channelBindings: tlsServerEndPoint(certificate) }) })
    } catch (error) {
      this.#authFailed(error)
      return
    }
    this.#session = session
    this.#leg(session.first())
  }

  /** Writes the next leg once its header is computed; a failure to compute it ends the tunnel. */
  #leg (header: Promise<string>): void {
    this.#busy = true
    header.then((value) => {
      this.#busy = false
      if (this.done) return
      this.#send(value)
    }, (error: unknown) => { this.#authFailed(error) })
  }

  protected onData (chunk: Buffer): void {
    if (this.#busy) {
      // The proxy speaks while a leg is being computed: nothing it says now answers what we sent.
      this.fail('sent bytes before the next authentication leg was written')
      return
    }
    const answer = this.#answer.push(chunk)
    if (answer === undefined) return
    if (answer === 'head-too-large') {
      this.fail(`answered the CONNECT with a head longer than ${MAX_PROXY_HEAD} bytes`)
      return
    }
    if (answer === 'invalid') {
      this.fail('answered the CONNECT with something that is not HTTP/1.x')
      return
    }
    const { status, reason } = answer
    if (status >= 200 && status <= 299) {
      if (answer.headEnd !== this.#answer.length) {
        // A TLS server never speaks first: bytes here are the proxy's, not the origin's.
        this.fail('sent bytes after its CONNECT answer, before the client spoke', status)
        return
      }
      this.#opened(answer)
      return
    }
    if (status === 407 && this.#session !== undefined) {
      this.#challenged(this.#session, answer)
      return
    }
    const sentCredentials = this.#session !== undefined || Object.keys(this.proxy.headers).some((name) => name.toLowerCase() === 'proxy-authorization')
    this.fail(`answered the CONNECT with ${status}${reason === '' ? '' : ` ${reason}`}${hint(status, sentCredentials)}`, status)
  }

  /** A 2xx: with a handshake, the proxy's final token (if any) must verify before the tunnel is used. */
  #opened (answer: ConnectAnswer): void {
    const session = this.#session
    if (session === undefined) {
      this.succeed()
      return
    }
    this.#busy = true
    session.finish(answer.headers.get('proxy-authenticate')).then(() => {
      this.#busy = false
      if (this.done) return
      this.#report(session, 'authenticated', answer.status)
      this.succeed()
    }, (error: unknown) => { this.#authFailed(error) })
  }

  /** A 407 during the handshake: drain its body, then the next leg on this connection, or a refusal. */
  #challenged (session: AuthSession, answer: ConnectAnswer): void {
    const { bodyEnd } = answer
    if (bodyEnd === 'more') return
    this.#challenges++
    if (typeof bodyEnd !== 'number' || !answer.keepAlive) {
      const why = bodyEnd === 'too-large' ? 'a 407 body too large to drain' : typeof bodyEnd === 'number' ? 'Connection: close' : 'a 407 body of no known length'
      this.#refused(session, `answered a ${this.#scheme} authentication leg with 407 and ${why}: the handshake cannot go on over this connection`)
      return
    }
    if (bodyEnd !== this.#answer.length) {
      this.#refused(session, 'sent bytes after its 407, before the next authentication leg')
      return
    }
    this.#answer.reset()
    const authenticate = answer.headers.get('proxy-authenticate')
    const offered = [...new Set(parseChallenges(authenticate).map((c) => c.scheme))]
    if (!offered.includes(session.scheme.toLowerCase())) {
      const list = offered.length === 0 ? 'no scheme' : escapeOutside(offered.slice(0, 5).join(', '), 80)
      this.#refused(session, `answered with 407 offering ${list}, not ${session.scheme}: set proxy.auth.scheme to one it offers`)
      return
    }
    this.#busy = true
    session.next(authenticate).then((next) => {
      this.#busy = false
      if (this.done) return
      if (next === undefined) {
        // No token of our scheme: the proxy starts over, so it refused what was sent.
        this.#refused(session, `rejected the ${this.#scheme} credentials (407 after ${session.legs} authentication leg${session.legs === 1 ? '' : 's'}): check proxy.auth (user name, password, domain, or the Kerberos ticket)`)
        return
      }
      if (session.legs > MAX_AUTH_LEGS) {
        this.#refused(session, `kept asking for more ${this.#scheme} authentication legs (${MAX_AUTH_LEGS} at most)`)
        return
      }
      this.#send(next)
    }, (error: unknown) => { this.#authFailed(error) })
  }

  #refused (session: AuthSession, problem: string): void {
    this.#report(session, 'rejected', 407)
    this.fail(problem, 407)
  }

  /** The handshake could not be computed (no ticket, no addon, a malformed challenge): the auth error, with the origin. */
  #authFailed (error: unknown): void {
    this.#busy = false
    if (this.done) return
    const session = this.#session
    if (session !== undefined) this.#report(session, 'failed', undefined)
    // Still TLS_FALLBACK_PROXY_ERROR (never a fingerprint, nothing learned), the auth error as its cause.
    const why = error instanceof TlsFallbackError ? `${error.code}: ${error.message}` : (error as Error)?.name ?? 'Error'
    this.fail(`could not be authenticated to (${why})`, undefined, error)
  }

  #report (session: AuthSession, outcome: ProxyAuthEvent['outcome'], statusCode: number | undefined): void {
    const event: ProxyAuthEvent = {
      proxy: this.proxy.redacted,
      target: this.authority,
      origin: this.target.origin,
      scheme: this.#scheme,
      mechanism: session.mechanism,
      legs: session.legs,
      challenges: this.#challenges,
      outcome,
      statusCode
    }
    if (proxyAuthChannel.hasSubscribers) proxyAuthChannel.publish(event)
    this.target.onAuth?.(event)
  }
}

function hint (status: number, sentCredentials: boolean): string {
  // A 407 to a CONNECT that carried Proxy-Authorization is a refusal of those credentials, not a request for some.
  if (status === 407) return sentCredentials ? ': it rejected the credentials sent (check the user name and password in the proxy URL, or the token)' : ': it needs credentials (in the proxy URL, token, or auth)'
  if (status === 403) return ': it refuses tunnels to this host or port'
  if (status === 502 || status === 503 || status === 504) return ': it could not reach the origin'
  return ''
}
