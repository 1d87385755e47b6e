import { Client, type Dispatcher } from 'undici'
import type { TLSSocket } from 'node:tls'
import { composePrepare, type Prepare } from '../connector.ts'
import { tlsServerEndPoint } from './channel-bindings.ts'
import { authenticateConnection } from './handshake.ts'
import type { AuthHandshakeEvent } from '../telemetry.ts'
import type { ResolvedAuth } from './options.ts'
import { hasAuthorization, offers, Release, withHeader, type Controller, type Handler, type Headers, type PoolEntry as Entry } from './release.ts'
import { AuthSession } from './session.ts'

/**
 * The connections of one origin with `auth`, on one stack: single-connection undici `Client`s over
 * HTTP/1.1 (NTLM's legs must share a socket, undici's pooled Agent may send the next leg on another
 * one, and HTTP/2 gives every stream a fresh 401). Each new connection is authenticated before
 * undici gets it (src/auth/handshake.ts: `HEAD <path>` legs, through the stack's connect function, so
 * that TLS fallback, client certificates and renegotiation still apply) and then reused without
 * another handshake. The caller's request goes once, on an authenticated connection, body and all.
 */

export interface AuthPoolOptions {
  /** `https://host[:port]`. */
  origin: string
  /** The host name (Kerberos `HTTP@host`, NTLM's target name). */
  hostname: string
  stack: string
  auth: ResolvedAuth
  /**
   * Uploads (issue 31): the priming step (src/uploads.ts `primingPrepare`) of a pool whose connections
   * carry large bodies to one path, run after the handshake (whose HEAD legs go to that path). On TLS
   * 1.2 the legs renegotiate before any body, and the priming HEAD finds nothing left to do; on TLS
   * 1.3 its `OPTIONS` finds Apache's post-handshake-auth 403 before the body goes anywhere.
   */
  prime?: Prepare | undefined
  /** An undici connect function for this stack that runs `prepare` on each new connection. */
  connect: (prepare: Prepare) => NonNullable<Client.Options['connect']>
  /** undici Client options (the agent's, without the pool-only ones). */
  client: Client.Options
  /** Connections at most; requests wait in the least busy one's queue beyond it. */
  maxConnections: number
  /** Each new connection made (the agent forwards its events). */
  made: (client: Client) => void
  handshake: (event: AuthHandshakeEvent) => void
}

export class AuthPool {
  readonly #options: AuthPoolOptions
  readonly #entries: Entry[] = []
  #handshakes = 0
  /** The server wants a fresh Kerberos token on every request (not bound to the connection): never a replay. */
  #perRequest = false
  /** Whether a connection was checked for that (`negotiate` only: NTLM is always bound to the connection). */
  #boundChecked = false

  constructor (options: AuthPoolOptions) {
    this.#options = options
  }

  /** Connection handshakes so far (one per new connection). */
  get handshakes (): number { return this.#handshakes }
  get connections (): number { return this.#entries.length }
  /** No request in flight on any of its connections (it may be closed without cutting one). */
  get idle (): boolean { return this.#entries.every((e) => e.busy === 0) }

  /** Whether every request carries its own fresh token (see `#perRequest`). */
  get perRequest (): boolean { return this.#perRequest }

  dispatch (opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#perRequest && !hasAuthorization(opts.headers)) {
      this.#dispatchWithToken(opts, handler)
      return true
    }
    const entry = this.#pick()
    entry.busy++
    entry.path = opts.path
    return entry.client.dispatch(opts, new Release(this, handler, entry, opts, undefined))
  }

  /** Per-request mode: a fresh Kerberos token on the request itself, the server's final token checked before the caller sees the response. */
  #dispatchWithToken (opts: Dispatcher.DispatchOptions, handler: Handler): void {
    const session = new AuthSession(this.#options.auth, { host: this.#options.hostname })
    session.first().then((header) => {
      const entry = this.#pick()
      entry.busy++
      entry.path = opts.path
      entry.client.dispatch({ ...opts, headers: withHeader(opts.headers, 'authorization', header) }, new Release(this, handler, entry, opts, session))
    }, (error: Error) => { handler.onResponseError?.(null as unknown as Controller, error) })
  }

  /**
   * A 401 with our scheme on an authenticated connection, for a request that carried no token: the
   * server is not bound to the connection (Kerberos with `GssapiConnectionBound Off`). From now on
   * every request gets a fresh token. Returns whether this request may go again with one: only
   * without a body and with a safe method (it was refused, so not processed, but a body may be gone).
   */
  unboundRefusal (entry: Entry, opts: Dispatcher.DispatchOptions, headers: Headers): boolean {
    if (!entry.authenticated || this.#options.auth.scheme !== 'negotiate' || !offers(headers, 'negotiate')) return false
    this.#perRequest = true
    return opts.body == null && (opts.method === 'GET' || opts.method === 'HEAD')
  }

  async close (): Promise<void> {
    await Promise.all(this.#entries.map(async (e) => await e.client.close()))
  }

  async destroy (reason?: Error | null): Promise<void> {
    await Promise.all(this.#entries.map(async (e) => await e.client.destroy(reason ?? null)))
  }

  #pick (): Entry {
    let least: Entry | undefined
    for (const entry of this.#entries) {
      if (entry.busy === 0 && !entry.client.closed && !entry.client.destroyed) return entry
      if (least === undefined || entry.busy < least.busy) least = entry
    }
    if (least !== undefined && this.#entries.length >= this.#options.maxConnections) return least
    const entry: Entry = { client: undefined as unknown as Client, busy: 0, path: '/', authenticated: false }
    const o = this.#options
    entry.client = new Client(o.origin, {
      ...o.client,
      allowH2: false,
      pipelining: 1,
      connect: o.connect(composePrepare(this.#prepare(entry), o.prime) as Prepare)
    })
    o.made(entry.client)
    this.#entries.push(entry)
    return entry
  }

  #prepare (entry: Entry): Prepare {
    return (socket: TLSSocket, connection, done) => {
      const o = this.#options
      entry.authenticated = false
      if (this.#perRequest) { done(null); return } // each request carries its own token
      const checkBound = o.auth.scheme === 'negotiate' && !this.#boundChecked
      const certificate = socket.getPeerX509Certificate()?.raw
      const session = new AuthSession(o.auth, { host: o.hostname, channelBindings: certificate === undefined ? undefined : tlsServerEndPoint(certificate) })
      const event = (outcome: AuthHandshakeEvent['outcome'], status: number | undefined, code?: string): void => {
        this.#handshakes++
        o.handshake({ origin: o.origin, stack: o.stack, scheme: o.auth.scheme, mechanism: session.mechanism, legs: session.legs, outcome, mutual: session.mutual, status, code })
      }
      authenticateConnection(socket, session, { host: connection.host, path: entry.path, timeout: connection.timeout, checkBound }).then((result) => {
        entry.authenticated = result.authenticated
        if (result.connectionBound !== undefined) {
          this.#boundChecked = true
          if (!result.connectionBound && session.mechanism === 'kerberos') this.#perRequest = true
        }
        event(result.authenticated ? 'authenticated' : 'rejected', result.status)
        done(null)
      }, (error: Error & { code?: string }) => {
        event('failed', undefined, error.code)
        done(error)
      })
    }
  }
}
