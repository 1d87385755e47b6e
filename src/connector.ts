import { subscribe } from 'node:diagnostics_channel'
import net from 'node:net'
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls'
import { constants, type X509Certificate } from 'node:crypto'
import { buildConnector } from 'undici'
import type { ConnectionSnapshot, Http2StreamFacts } from './fingerprint.ts'
import { acceptsRenegotiation, type StackName } from './stacks.ts'
import { originFromParts } from './policy/origin.ts'
import type { Proxy } from './proxy/options.ts'
import { openTunnel } from './proxy/open.ts'
import type { ProxyAuthEvent } from './telemetry.ts'
import type { IntermediateFetch } from './certs/aia.ts'
import type { IntermediateStore } from './certs/stored-intermediates.ts'
import { MissingIntermediates, type WithIntermediates } from './certs/missing-intermediates.ts'

/**
 * The connector opens each TCP socket itself and hands it to undici's connector as `httpSocket`, so
 * TLS stays native and the raw socket's counters keep counting ciphertext while the TLS socket
 * counts plaintext. Each connection gets a `Connection` record; an error emitted on the socket is
 * mapped to a snapshot of that record, which is how a failed request finds out what its
 * connection saw (undici hands the handler the very error object the socket emitted).
 */

type UndiciConnect = buildConnector.connector
type ConnectCallback = buildConnector.Callback

/** TLS options for a stack and host, plus an identity for memoizing the undici connector built from them. */
export interface ResolvedTls {
  key: object
  options: ConnectionOptions
}

export interface ConnectorOptions {
  /** TLS options for a connection of this stack to this host. */
  resolve: (stack: StackName, hostname: string, port: number) => ResolvedTls
  /** undici's `connectTimeout`. */
  timeout: number | undefined
  maxCachedSessions: number | undefined
  keepAlive: boolean | undefined
  keepAliveInitialDelay: number | undefined
  /** undici's `useH2c`: HTTP/2 over cleartext for http: origins. */
  useH2c?: boolean | undefined
  /** TCP options for `net.connect`: lookup, family, autoSelectFamily, ... */
  tcp: net.TcpNetConnectOpts | Record<string, never>
  /** The proxy a connection to this origin goes through (tunnelled), if any. */
  proxy?: (protocol: string, hostname: string, port: number) => Proxy | undefined
  /** Told the outcome of each proxy authentication handshake (`proxy.auth`): scheme and legs, never a token. */
  onProxyAuth?: ((event: ProxyAuthEvent) => void) | undefined
  /** The default `Prepare` of every connect function (one given to `connectFunction` wins). */
  prepare?: Prepare
  /** The proxy an `http:` URL of this host goes through (AIA fetches: the user's http: proxy rules, unfiltered). */
  httpProxy?: (hostname: string, port: number) => Proxy | undefined
  /** The policy store, when it keeps fetched intermediates (shared with other processes). */
  intermediateStore?: IntermediateStore | undefined
}

/**
 * Runs on each new https: connection once its TLS handshake is complete, before undici gets the
 * socket (priming, src/priming.ts; connection authentication, src/auth/*): `done(null)` hands the
 * socket to undici, `done(error)` fails the connect with that error (the socket is destroyed).
 */
export type Prepare = (socket: TLSSocket, connection: PreparingConnection, done: (error: Error | null) => void) => void

/** Runs the steps one after the other on the same connection; the first failure ends it. */
export function composePrepare (...steps: Array<Prepare | undefined>): Prepare | undefined {
  const present = steps.filter((step): step is Prepare => step !== undefined)
  if (present.length <= 1) return present[0]
  return (socket, connection, done) => {
    let index = 0
    const next = (error: Error | null): void => {
      const step = present[index++]
      if (error !== null || step === undefined) done(error)
      else step(socket, connection, next)
    }
    next(null)
  }
}

/** What `ConnectorOptions.prepare` gets to know about the new connection. */
export interface PreparingConnection {
  readonly stack: StackName
  /** `https://host[:port]`. */
  readonly origin: string
  /** The `Host` header undici sends on it (`host` or `host:port`). */
  readonly host: string
  /** Milliseconds left for the work: the connect timeout. */
  readonly timeout: number
  /** Handshakes on the connection so far, the first included (renegotiations are counted on stacks that accept them). */
  handshakes: () => number
}

/** undici's default connect timeout, which also bounds the time a proxy has to open a tunnel. */
const DEFAULT_CONNECT_TIMEOUT = 10_000

/** A socket's native handle (TCP, TLS) while the socket is open: Node's `bytesRead` and `_bytesDispatched` read these. */
interface Handle { readonly bytesRead: number, readonly bytesWritten: number }
interface Counters { rawRead: number, rawWritten: number, plainRead: number, plainWritten: number }
interface Mark extends Counters {
  handshakes: number
  /** The mark was taken before the client's last handshake flight was counted (see `finalFlightPending`). */
  beforeFinalFlight: boolean
  /** An earlier request on this connection was still waiting for its response: the window is not this request's alone. */
  shared: boolean
}

/** What the connector needs of undici's request object (published on `undici:client:sendHeaders`; both fields are documented). */
interface UndiciRequest { completed?: boolean, aborted?: boolean }

/**
 * Bytes a socket has handed on: from a TLS socket, plaintext handed to TLS, which encrypts it at
 * once (the same layer as the raw socket's ciphertext count); from the raw socket, ciphertext handed
 * to the kernel. `bytesWritten` also counts bytes still waiting in the socket's write buffer: on the
 * TLS socket, plaintext behind an earlier write whose ciphertext is not on the wire yet, so a window
 * measured with it can hold ciphertext without its plaintext (issue 16, attack 1). Undefined when
 * Node does not expose the count.
 */
function bytesDispatched (socket: net.Socket): number | undefined {
  const dispatched = (socket as unknown as { _bytesDispatched?: unknown })._bytesDispatched
  return typeof dispatched === 'number' && Number.isFinite(dispatched) ? dispatched : undefined
}

/**
 * The raw (TCP) socket's ciphertext count. TLS writes to the socket's handle directly, so nothing
 * waits in the raw socket's own write buffer: this equals `bytesWritten`, which walks (and copies)
 * that buffer on every read, and is its fallback.
 */
function rawDispatched (raw: net.Socket): number {
  return bytesDispatched(raw) ?? raw.bytesWritten
}

class Connection {
  readonly stack: StackName
  readonly origin: string
  readonly raw: net.Socket | undefined
  readonly socket: TLSSocket
  readonly offeredTls13: boolean
  handshakeComplete = false
  protocol: string | null = null
  cipher: string | null = null
  alpn: string | false | null = null
  handshakes = 0
  /**
   * In a resumed TLS 1.2 handshake the client sends its ChangeCipherSpec and Finished last, and Node
   * counts those bytes on the raw socket only after 'secureConnect' (in the next turn of the event
   * loop). Until then a mark does not include them.
   */
  finalFlightPending = false
  resumed = false
  readonly tlsErrors: string[] = []
  /** The server's leaf, read only when the chain did not verify (see #secure). */
  leaf: X509Certificate | undefined
  mark: Mark = { rawRead: 0, rawWritten: 0, plainRead: 0, plainWritten: 0, handshakes: 0, beforeFinalFlight: false, shared: false }
  /**
   * The request whose headers were sent last on this connection, and the sink (the attempt) that
   * expected it. The attempt hands the connection back when its response ends (`release`), which
   * drops the request: an idle keep-alive connection must not keep a finished request, its handlers
   * and its response alive (5.3 KB per idle connection, measured). A request sent without a sink
   * is held until the next one.
   */
  lastRequest: UndiciRequest | undefined
  lastSink: ConnectionSink | undefined

  constructor (stack: StackName, origin: string, raw: net.Socket | undefined, socket: TLSSocket, offeredTls13: boolean, rawBase?: { read: number, written: number }) {
    this.stack = stack
    this.origin = origin
    this.raw = raw
    this.socket = socket
    this.offeredTls13 = offeredTls13
    if (rawBase !== undefined) {
      // A tunnelled connection: the proxy's bytes (CONNECT, SOCKS5) are not the origin's TLS.
      this.mark.rawRead = rawBase.read
      this.mark.rawWritten = rawBase.written
    }
  }

  /**
   * Reads the four byte counts into `into`, in place (markRequest runs for every request). While a
   * socket is open its counts are its handle's, which is what Node's getters return; read here,
   * each load sees one kind of handle (TCP, TLS), and V8 calls the native getter directly, instead
   * of through the generic property load that the getters' shared code needs (1,024 instructions
   * per request for the four, callgrind).
   */
  #readCounters (into: Counters): void {
    const raw = this.raw
    if (raw === undefined) {
      into.rawRead = 0
      into.rawWritten = 0
    } else {
      const handle = (raw as unknown as { _handle?: Handle | null })._handle
      into.rawRead = handle == null ? raw.bytesRead : handle.bytesRead
      into.rawWritten = handle == null ? rawDispatched(raw) : handle.bytesWritten
    }
    const socket = this.socket
    const handle = (socket as unknown as { _handle?: Handle | null })._handle
    into.plainRead = handle == null ? socket.bytesRead : handle.bytesRead
    into.plainWritten = handle == null ? bytesDispatched(socket) ?? 0 : handle.bytesWritten
  }

  /**
   * Called when a request's headers are about to be written (`request`), or when the handshake
   * completed: byte counts restart here. The window belongs to the request alone only if no earlier
   * request on the connection still waits for its response (HTTP/1.1 pipelining).
   */
  markRequest (request?: UndiciRequest, sink?: ConnectionSink): void {
    // In place: this runs for every request, and a new object each time would be garbage each time.
    const mark = this.mark
    this.#readCounters(mark)
    mark.handshakes = this.handshakes
    mark.beforeFinalFlight = this.finalFlightPending
    if (request !== undefined) {
      const previous = this.lastRequest
      mark.shared = previous !== undefined && previous !== request && previous.completed !== true && previous.aborted !== true
      this.lastRequest = request
      this.lastSink = sink
    }
  }

  /** The attempt that expected the last request is done with it (its response ended, or it failed). */
  release (sink: ConnectionSink): void {
    if (this.lastSink !== sink) return
    this.lastRequest = undefined
    this.lastSink = undefined
  }

  snapshot (): ConnectionSnapshot {
    const now: Counters = { rawRead: 0, rawWritten: 0, plainRead: 0, plainWritten: 0 }
    this.#readCounters(now)
    return {
      stack: this.stack,
      handshakeComplete: this.handshakeComplete,
      protocol: this.protocol,
      cipher: this.cipher,
      alpn: this.alpn,
      offeredTls13: this.offeredTls13,
      rawRead: now.rawRead - this.mark.rawRead,
      rawWritten: now.rawWritten - this.mark.rawWritten,
      plainRead: now.plainRead - this.mark.plainRead,
      plainWritten: now.plainWritten - this.mark.plainWritten,
      renegotiations: this.handshakes - this.mark.handshakes,
      finalFlightInWindow: this.mark.beforeFinalFlight,
      windowDecodable: !this.mark.shared && this.raw !== undefined && bytesDispatched(this.socket) !== undefined,
      tlsErrors: [...this.tlsErrors]
    }
  }
}

const connectionsBySocket = new WeakMap<object, Connection>()
let subscribed = false

interface Goaway { code: number, lastStreamId: number }
type Http2Stream = { id?: number, session?: NodeJS.EventEmitter } & object

/** The GOAWAY each HTTP/2 client session received, and each stream's session (a destroyed stream loses it). */
const goaways = new WeakMap<object, Goaway>()
const watchedSessions = new WeakSet<object>()
const sessionsByStream = new WeakMap<object, object>()
/** A failed HTTP/2 stream's error, mapped to what is known about the stream. */
const http2Failures = new WeakMap<object, Http2StreamFacts>()
/**
 * The attempt of each request undici sent over HTTP/2. undici writes a request again by itself after a
 * GOAWAY that did not cover its stream (RFC 9113 section 8.7), without a new `onRequestStart`: the
 * new stream is still that attempt's.
 */
const sinksByRequest = new WeakMap<object, ConnectionSink>()
/**
 * The attempt whose HTTP/2 request undici is opening a stream for: undici publishes
 * `undici:client:sendHeaders` and then, synchronously, opens the stream (client-h2 `writeH2`), for
 * which Node publishes `http2.client.stream.created`.
 */
let opening: { sink: ConnectionSink, socket: object } | undefined

/** What a response can learn about the connection its request went out on. */
export interface ConnectionFacts {
  /** Negotiated protocol, such as `'TLSv1.3'`. */
  readonly protocol: string | null
  readonly cipher: string | null
  /** The ALPN protocol negotiated (`'h2'`, `'http/1.1'`), false without one, null before the handshake. */
  readonly alpn: string | false | null
  /** Handshakes on the connection so far, the first included (renegotiations are counted on stacks that accept them). */
  readonly handshakes: number
  /** The sink's request is over: the connection stops holding it (see Connection.lastRequest). */
  release: (sink: ConnectionSink) => void
}

/** Receives the connection of the request whose headers undici writes next. */
export interface ConnectionSink {
  connection: ConnectionFacts | undefined
  /** The HTTP/2 stream undici opened for the request last (see `http2FactsFor`); undefined over HTTP/1.1. */
  http2Stream: object | undefined
}

let expecting: ConnectionSink | undefined

/**
 * Called from a handler's `onRequestStart`: undici writes that request's headers synchronously right
 * after it (client-h1 `writeH1`, client-h2 `writeH2`) and publishes `undici:client:sendHeaders` with
 * the socket, and the subscriber below hands the sink that socket's connection. A request undici
 * drops in between publishes nothing: the next `onRequestStart` replaces the sink, and every publish
 * clears it, so a sink never receives another request's connection. Costs two assignments per request.
 */
export function expectConnection (sink: ConnectionSink): void {
  expecting = sink
}

function subscribeOnce (): void {
  if (subscribed) return
  subscribed = true
  // undici publishes this for each request just before it writes the request's headers.
  subscribe('undici:client:sendHeaders', (message) => {
    const { socket, request } = message as { socket?: object, request?: UndiciRequest }
    // A request undici writes again by itself (HTTP/2 only) keeps its attempt.
    const sink = expecting ?? (request === undefined ? undefined : sinksByRequest.get(request))
    expecting = undefined
    opening = undefined
    if (sink !== undefined) sink.http2Stream = undefined
    if (socket === undefined) return
    const connection = connectionsBySocket.get(socket)
    if (connection === undefined) return
    connection.markRequest(request ?? {}, sink)
    if (sink === undefined) return
    sink.connection = connection
    if (connection.alpn === 'h2') {
      opening = { sink, socket }
      if (request !== undefined) sinksByRequest.set(request, sink)
    }
  })
  // Node's HTTP/2 client channels (Node >= 22.14). A GOAWAY's last-stream-id says which streams the
  // server may have acted on (RFC 9113 section 6.8); undici does not pass it on, so it is kept here,
  // per session, and joined to a failed stream's error by the stream's id.
  subscribe('http2.client.stream.created', (message) => {
    const stream = (message as { stream?: Http2Stream }).stream
    const session = stream?.session
    const expected = opening
    opening = undefined
    if (stream === undefined || session === undefined) return
    sessionsByStream.set(stream, session)
    if (expected !== undefined && sessionOver(session, expected.socket)) expected.sink.http2Stream = stream
    if (watchedSessions.has(session)) return
    watchedSessions.add(session)
    // Before undici's own listener, which fails the requests the GOAWAY did not cover as it runs.
    session.prependListener('goaway', (code: number, lastStreamId: number) => {
      goaways.set(session, { code, lastStreamId })
    })
  })
  subscribe('http2.client.stream.error', (message) => {
    const { stream, error } = message as { stream?: Http2Stream, error?: unknown }
    if (stream === undefined || typeof error !== 'object' || error === null || typeof stream.id !== 'number') return
    const session = sessionsByStream.get(stream)
    const goaway = session === undefined ? undefined : goaways.get(session)
    http2Failures.set(error, {
      streamId: stream.id,
      goawayCode: goaway?.code,
      goawayLastStreamId: goaway?.lastStreamId
    })
  })
}

/** What Node reported about the HTTP/2 stream that failed with this error, if it was one. */
export function http2FailureFor (error: unknown): Http2StreamFacts | undefined {
  return typeof error === 'object' && error !== null ? http2Failures.get(error) : undefined
}

/**
 * Whether a session runs over this socket. Node hands out a session's socket as a proxy that
 * forwards property reads to the socket itself, so the socket's handle (one per connection) tells.
 */
function sessionOver (session: object, socket: object): boolean {
  try {
    const handle = (socket as { _handle?: unknown })._handle
    return handle != null && (session as { socket?: { _handle?: unknown } }).socket?._handle === handle
  } catch {
    return false
  }
}

/**
 * What Node reported about the HTTP/2 stream of an attempt's request: its id, and the GOAWAY its
 * session received, if any. From frames and ids, never from an error's text: undici fails a request
 * whose stream a GOAWAY did not cover with its own error, which names the code only in its message.
 */
export function http2FactsFor (sink: ConnectionSink): Http2StreamFacts | undefined {
  const stream = sink.http2Stream as Http2Stream | undefined
  if (stream === undefined || typeof stream.id !== 'number') return undefined
  const session = sessionsByStream.get(stream)
  const goaway = session === undefined ? undefined : goaways.get(session)
  return { streamId: stream.id, goawayCode: goaway?.code, goawayLastStreamId: goaway?.lastStreamId }
}

function isTlsLayerError (code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'ERR_OSSL_EVP_BAD_DECRYPT')
}

function offersTls13 (options: ConnectionOptions): boolean {
  const max = options.maxVersion ?? tls.DEFAULT_MAX_VERSION
  return max === 'TLSv1.3' && ((options.secureOptions ?? 0) & constants.SSL_OP_NO_TLSv1_3) === 0
}

const MAX_RENEGOTIATED_ORIGINS = 10_000

/** Whether the chain of a socket whose handshake just finished failed to verify (Node checks it right after). */
function verificationFailed (socket: TLSSocket): boolean {
  const ssl = (socket as unknown as { _handle?: { verifyError?: () => unknown } | null })._handle
  return typeof ssl?.verifyError !== 'function' || ssl.verifyError() != null
}

export class ConnectionTracker {
  readonly #options: ConnectorOptions
  readonly #errors = new WeakMap<Error, ConnectionSnapshot>()
  readonly #renegotiated = new Set<string>()
  readonly #connectors = new WeakMap<object, Map<string, UndiciConnect>>()
  readonly #intermediates: MissingIntermediates

  constructor (options: ConnectorOptions) {
    this.#options = options
    this.#intermediates = new MissingIntermediates({
      tcp: options.tcp as Record<string, unknown>,
      httpProxy: options.httpProxy,
      intermediateStore: options.intermediateStore
    })
    subscribeOnce()
  }

  /** What the connection that raised this error saw, if the error came from one of our connections. */
  snapshotFor (error: unknown): ConnectionSnapshot | undefined {
    return typeof error === 'object' && error !== null ? this.#errors.get(error as Error) : undefined
  }

  /**
   * Whether a connection of this stack to this origin took part in a renegotiation the server
   * started. The client only starts one after it authenticated the server's HelloRequest, so an
   * on-path attacker cannot make this true.
   */
  renegotiated (origin: string): boolean {
    return this.#renegotiated.has(origin)
  }

  forget (origin: string): void {
    this.#renegotiated.delete(origin)
  }

  /**
   * An undici `connect` function for one stack. `prepare` runs on each of its new https:
   * connections (default: `ConnectorOptions.prepare`).
   */
  connectFunction (stack: StackName, allowH2: boolean, prepare: Prepare | undefined = this.#options.prepare): UndiciConnect {
    return this.#connectFunction(stack, allowH2, prepare)
  }

  /** `connectFunction` with `step` run after the default `prepare` (connection authentication after priming). */
  connectFunctionThen (stack: StackName, allowH2: boolean, step: Prepare): UndiciConnect {
    return this.#connectFunction(stack, allowH2, composePrepare(this.#options.prepare, step))
  }

  #connectFunction (stack: StackName, allowH2: boolean, prepare: Prepare | undefined): UndiciConnect {
    const connect: UndiciConnect = (opts, callback) => this.#connect(stack, allowH2, opts, callback, undefined, prepare)
    return connect
  }

  #undiciConnector (stack: StackName, allowH2: boolean, resolved: ResolvedTls): UndiciConnect {
    let byVariant = this.#connectors.get(resolved.key)
    if (byVariant === undefined) {
      byVariant = new Map()
      this.#connectors.set(resolved.key, byVariant)
    }
    const variant = `${stack}/${allowH2 ? 'h2' : 'h1'}`
    let connector = byVariant.get(variant)
    if (connector === undefined) {
      const o = this.#options
      connector = buildConnector({
        // TCP options (lookup, family, autoSelectFamily, ...) reach net.connect for http: origins;
        // https: origins get them from #secure, which opens the TCP socket itself.
        ...(o.tcp as Record<string, unknown>),
        ...resolved.options,
        ...(o.useH2c === undefined ? {} : { useH2c: o.useH2c }),
        allowH2,
        ...(o.timeout === undefined ? {} : { timeout: o.timeout }),
        ...(o.maxCachedSessions === undefined ? {} : { maxCachedSessions: o.maxCachedSessions }),
        ...(o.keepAlive === undefined ? {} : { keepAlive: o.keepAlive }),
        ...(o.keepAliveInitialDelay === undefined ? {} : { keepAliveInitialDelay: o.keepAliveInitialDelay })
      })
      byVariant.set(variant, connector)
    }
    return connector
  }

  #connect (stack: StackName, allowH2: boolean, opts: buildConnector.Options, callback: ConnectCallback, intermediates?: WithIntermediates, prepare?: Prepare): net.Socket | TLSSocket {
    const port = Number(opts.port === '' || opts.port === undefined ? (opts.protocol === 'https:' ? 443 : 80) : opts.port)
    const base = this.#options.resolve(stack, opts.hostname, port)
    let resolved = base
    if (opts.protocol === 'https:') {
      const origin = originFromParts(opts.protocol, opts.hostname, port)
      const fetch = (base.key as { fetchIntermediates?: IntermediateFetch }).fetchIntermediates
      const known = this.#intermediates.known(origin, fetch, intermediates)
      if (known !== undefined) resolved = this.#intermediates.withIntermediates(base, known.pem)
      const caller = callback
      callback = this.#intermediates.onFailure(caller, origin, fetch, known,
        (retry) => this.#connect(stack, allowH2, opts, caller, retry, prepare))
    }
    const undiciConnect = this.#undiciConnector(stack, allowH2, resolved)
    const proxy = opts.httpSocket === undefined ? this.#options.proxy?.(opts.protocol, opts.hostname, port) : undefined
    if (proxy !== undefined) return this.#connectThrough(proxy, stack, resolved, undiciConnect, opts, port, callback, prepare)
    if (opts.protocol !== 'https:') {
      return undiciConnect(opts, callback) as unknown as net.Socket
    }
    return this.#secure(stack, resolved, undiciConnect, opts, port, callback, prepare)
  }

  /**
   * Opens a tunnel through the proxy, then runs the origin's TLS natively over the tunnel socket,
   * exactly as over a direct TCP socket: every stack, the host's client certificate and the user's
   * TLS options apply to the origin. The byte counters start after the tunnel is up.
   */
  #connectThrough (proxy: Proxy, stack: StackName, resolved: ResolvedTls, undiciConnect: UndiciConnect,
    opts: buildConnector.Options, port: number, callback: ConnectCallback, prepare: Prepare | undefined): net.Socket {
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname
    return openTunnel(proxy, {
      host,
      port,
      tcp: this.#options.tcp as Record<string, unknown>,
      timeout: this.#options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
      localAddress: opts.localAddress,
      origin: originFromParts(opts.protocol, opts.hostname, port),
      onAuth: this.#options.onProxyAuth
    }, (error, tunnel) => {
      if (error !== null || tunnel === undefined) {
        callback(error ?? new Error('no tunnel'), null)
        return
      }
      if (opts.protocol !== 'https:') {
        // A plain http:// origin through SOCKS5 (or a CONNECT tunnel to a proxy with `auth`): the socket as undici's own connector would set it up.
        if (this.#options.keepAlive !== false) tunnel.setKeepAlive(true, this.#options.keepAliveInitialDelay ?? 60_000)
        tunnel.resume()
        callback(null, tunnel)
        return
      }
      try {
        this.#secure(stack, resolved, undiciConnect, { ...opts, httpSocket: tunnel }, port, callback, prepare)
      } catch (error) {
        tunnel.on('error', () => {}).destroy()
        callback(error as Error, null)
      }
    })
  }

  #secure (stack: StackName, resolved: ResolvedTls, undiciConnect: UndiciConnect, opts: buildConnector.Options,
    port: number, callback: ConnectCallback, prepare: Prepare | undefined): TLSSocket {
    let raw: net.Socket | undefined
    let httpSocket = opts.httpSocket
    if (httpSocket === undefined) {
      const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname
      raw = net.connect({
        ...this.#options.tcp,
        host,
        port,
        ...(opts.localAddress == null ? {} : { localAddress: opts.localAddress })
      } as net.TcpNetConnectOpts)
      httpSocket = raw
    } else if (httpSocket instanceof net.Socket) {
      raw = httpSocket
    }
    // A socket handed in (a tunnel) may already carry the proxy's bytes: the counts start from here.
    const rawBase = opts.httpSocket !== undefined && raw !== undefined ? { read: raw.bytesRead, written: rawDispatched(raw) } : undefined

    // Assigned below, once undici's connector returned the socket; `prepare` runs after the handshake.
    // eslint-disable-next-line prefer-const
    let connection: Connection | undefined
    const connected: ConnectCallback = prepare === undefined
      ? callback
      : (error, ready) => {
          if (error !== null || connection === undefined) {
            callback(error ?? new Error('no connection'), null)
            return
          }
          const tlsSocket = ready as TLSSocket
          const c = connection
          let called = false
          prepare(tlsSocket, {
            stack,
            origin: c.origin,
            host: opts.host ?? opts.hostname,
            timeout: this.#options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
            handshakes: () => c.handshakes
          }, (failure) => {
            if (called) return
            called = true
            if (failure === null) {
              callback(null, tlsSocket)
              return
            }
            if (!tlsSocket.destroyed) tlsSocket.destroy()
            callback(failure, null)
          })
        }
    let socket: TLSSocket
    try {
      socket = undiciConnect({ ...opts, httpSocket }, connected) as unknown as TLSSocket
    } catch (error) {
      // tls.connect threw (options it refuses): the TCP socket we opened must not outlive it.
      raw?.on('error', () => {})
      raw?.destroy()
      throw error
    }
    connection = new Connection(stack, originFromParts('https:', opts.hostname, port), raw, socket, offersTls13(resolved.options), rawBase)
    connectionsBySocket.set(socket, connection)

    // Prepended so that they run before undici's listeners, which may fail requests synchronously.
    socket.prependOnceListener('secureConnect', () => {
      connection.handshakeComplete = true
      connection.protocol = socket.getProtocol()
      connection.cipher = socket.getCipher()?.standardName ?? null
      connection.alpn = socket.alpnProtocol
      if (connection.handshakes === 0) connection.handshakes = 1
      connection.resumed = socket.isSessionReused()
      if (connection.resumed && connection.protocol === 'TLSv1.2') {
        connection.finalFlightPending = true
        setImmediate(() => { connection.finalFlightPending = false })
      }
      connection.markRequest()
    })
    // Before Node's own 'secure' listener, which verifies the chain and destroys the socket when it
    // fails: the leaf can still be read then. Only when verification failed (one native call otherwise).
    socket.prependListener('secure', () => {
      if (connection.leaf === undefined && verificationFailed(socket)) connection.leaf = socket.getPeerX509Certificate()
    })
    socket.prependListener('error', (error: Error & { code?: string }) => {
      this.#errors.set(error, connection.snapshot())
      if (connection.leaf !== undefined) this.#intermediates.noteLeaf(error, connection.leaf)
      if (isTlsLayerError(error.code)) connection.tlsErrors.push(error.code ?? 'ERR_SSL')
    })
    if (acceptsRenegotiation(stack)) this.#countHandshakes(connection)
    return socket
  }

  /**
   * Counts handshake starts on a stack that accepts renegotiation. Node calls the TLS handle's
   * `onhandshakestart` for every handshake, the server's renegotiations included; where that hook
   * is missing, the 'secure' event (emitted again when a renegotiation completes) is counted.
   */
  #countHandshakes (connection: Connection): void {
    const socket = connection.socket
    const seen = (): void => {
      if (connection.handshakes >= 2) {
        if (this.#renegotiated.size >= MAX_RENEGOTIATED_ORIGINS) this.#renegotiated.clear()
        this.#renegotiated.add(connection.origin)
      }
    }
    const handle = (socket as unknown as { _handle?: { onhandshakestart?: (...args: unknown[]) => unknown } })._handle
    if (handle !== undefined && typeof handle.onhandshakestart === 'function') {
      const original = handle.onhandshakestart
      handle.onhandshakestart = function (this: unknown, ...args: unknown[]) {
        connection.handshakes += 1
        seen()
        return original.apply(this, args)
      }
    } else {
      let secures = 0
      socket.on('secure', () => {
        secures += 1
        if (secures > connection.handshakes) connection.handshakes = secures
        seen()
      })
    }
  }
}
