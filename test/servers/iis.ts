import { createHash } from 'node:crypto'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { certs } from './certs.ts'
import { offersTls13, startRelay, type Relay } from './relay.ts'

/**
 * A server that behaves like IIS with conditional client certificates: TLS 1.2, it reads the request
 * to a path under `/secure`, then sends a HelloRequest to renegotiate and ask for a certificate.
 * When the client declines, the relay in front of it resets the TCP connection (IIS) or closes it
 * (`onRefused: 'close'`, like Apache), and the server's own alert never reaches the client.
 *
 * With `tls13CertUpFront`, a ClientHello that offers TLS 1.3 is routed to a TLS 1.3 backend that
 * asks for the client certificate in the first handshake (IIS with the certificate negotiated up front).
 */
export interface IisLikeOptions {
  onRefused?: 'reset' | 'close'
  tls13CertUpFront?: boolean
  /** OpenSSL cipher list for the TLS 1.2 backend (to force a CBC suite, say). */
  ciphers?: string
  /**
   * Also speak HTTP/2 (ALPN), and refuse `/secure` over it with HTTP_1_1_REQUIRED, as IIS and Apache
   * do (HTTP/2 forbids renegotiation):
   * - `'rst'`: RST_STREAM(HTTP_1_1_REQUIRED) on the request's stream;
   * - `'goaway'`: GOAWAY(HTTP_1_1_REQUIRED) whose last-stream-id is below the request's stream, so the
   *   stream is known unprocessed. Node's `goaway()` turns a last-stream-id of 0 into the last stream
   *   it saw, so this needs an earlier stream on the session: on a session's first stream the GOAWAY
   *   covers the request;
   * - `'goaway-after-acting'`: acts on the request (a side effect in `stats.effects`), then sends
   *   GOAWAY(HTTP_1_1_REQUIRED) whose last-stream-id is the request's stream: it says it may have acted.
   */
  h2?: 'rst' | 'goaway' | 'goaway-after-acting'
  /** Reset the connection even after a completed renegotiation (a server that rejects the certificate it got). */
  refuseAfterRenegotiation?: boolean
  /**
   * Act on a `/secure` request as soon as it is read, before the renegotiation (ASP.NET's delayed
   * client certificate, when the application asks for it late): a refused renegotiation then comes
   * after the side effect, and a replay acts a second time. Default: act only when answering.
   */
  actsBeforeRenegotiation?: boolean
  /**
   * IIS's `uploadReadAheadSize` (IIS's default is 49152 bytes): a `/secure` request over TLS 1.2 on
   * a connection that has not renegotiated yet, whose body is larger than this, is answered 413
   * (`Connection: close`) before any renegotiation, and not acted on (`stats.tooLarge`). The server
   * reads the whole body first, so the client always gets the 413 rather than a reset. Default: no
   * limit (the server holds any body across the renegotiation).
   */
  uploadReadAheadSize?: number
  /** Server certificate and key. Default: the test CA's server certificate. */
  cert?: Buffer
  key?: Buffer
}

export interface ServerStats {
  /** TCP connections accepted from clients. */
  connections: number
  /** Requests the server read, by `METHOD path`. */
  requests: string[]
  /** Renegotiations the server started, and how many the client refused. */
  renegotiations: number
  refused: number
  /** Request bodies received (sha256 hex), for exactly-once checks. */
  bodies: string[]
  /** Paths of the requests the server answered (not those whose renegotiation was refused). */
  answered: string[]
  /** Side effects, `METHOD path`: every request the server acted on (answered, or read first with `actsBeforeRenegotiation`). */
  effects: string[]
  /** Requests refused with 413 because their body was larger than `uploadReadAheadSize`. */
  tooLarge: number
}

export interface TestServer {
  port: number
  stats: ServerStats
  /** Client connections still open. */
  readonly open: number
  close: () => Promise<void>
}

function readBody (req: import('node:http').IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export async function startIisLike (options: IisLikeOptions = {}): Promise<TestServer> {
  const stats: ServerStats = { connections: 0, requests: [], renegotiations: 0, refused: 0, bodies: [], answered: [], effects: [], tooLarge: 0 }
  // Assigned below, once the server listens; the handlers above read it.
  // eslint-disable-next-line prefer-const
  let relay: Relay | undefined
  const renegotiatedSockets = new WeakSet<TLSSocket>()

  const acted = new WeakSet<object>()
  const act = (req: import('node:http').IncomingMessage): void => {
    if (acted.has(req)) return
    acted.add(req)
    stats.effects.push(`${req.method} ${req.url}`)
  }
  const respond = (res: import('node:http').ServerResponse, status: number, body: Record<string, unknown>): void => {
    act(res.req)
    stats.answered.push(String(body.path ?? ''))
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  const handler = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> => {
    stats.requests.push(`${req.method} ${req.url}${req.httpVersion === '2.0' ? ' h2' : ''}`)
    if (req.httpVersion === '2.0' && (req.url ?? '/').startsWith('/secure')) {
      const stream = (req as unknown as http2.Http2ServerRequest).stream
      const id = stream.id as number
      if (options.h2 === 'goaway') {
        stream.session?.goaway(http2.constants.NGHTTP2_HTTP_1_1_REQUIRED, Math.max(0, id - 2))
      } else if (options.h2 === 'goaway-after-acting') {
        await readBody(req)
        act(req)
        stream.session?.goaway(http2.constants.NGHTTP2_HTTP_1_1_REQUIRED, id)
      } else {
        stream.close(http2.constants.NGHTTP2_HTTP_1_1_REQUIRED)
      }
      return
    }
    const body = await readBody(req)
    const digest = createHash('sha256').update(body).digest('hex')
    const socket = req.socket as TLSSocket
    const info = { method: req.method, path: req.url, httpVersion: req.httpVersion, bodyLength: body.length, bodySha256: digest, protocol: socket.getProtocol() }
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/secure/landing', 'content-length': 0 })
      res.end()
      return
    }
    if (!(req.url ?? '/').startsWith('/secure')) {
      stats.bodies.push(digest)
      respond(res, 200, { ...info, renegotiated: false })
      return
    }
    if (socket.getProtocol() === 'TLSv1.3') {
      const cert = socket.getPeerCertificate()
      stats.bodies.push(digest)
      respond(res, cert?.subject === undefined ? 403 : 200, { ...info, renegotiated: false, clientCertificate: cert?.subject?.CN ?? null })
      return
    }
    if (renegotiatedSockets.has(socket)) {
      // Like IIS, a connection that already renegotiated keeps its client certificate.
      stats.bodies.push(digest)
      respond(res, 200, { ...info, renegotiated: true })
      return
    }
    if (options.uploadReadAheadSize !== undefined && body.length > options.uploadReadAheadSize) {
      // IIS cannot hold more than uploadReadAheadSize while it renegotiates: 413, nothing done.
      stats.tooLarge += 1
      const text = '<h1>413 Request Entity Too Large</h1>'
      res.writeHead(413, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text), connection: 'close' })
      res.end(text)
      return
    }
    if (options.actsBeforeRenegotiation === true) act(req)
    stats.renegotiations += 1
    let refused = false
    const onRefused = (): void => {
      // The client declined the HelloRequest. IIS resets the connection; Apache closes it.
      refused = true
      stats.refused += 1
      if (pair !== undefined) {
        pair.mute = true
        if (options.onRefused === 'close') pair.client.end()
        else pair.client.resetAndDestroy()
      }
    }
    socket.once('error', onRefused)
    const pair = relay?.pairByUpstreamPort(socket.remotePort as number)
    if (pair !== undefined) pair.delayMs = 20
    socket.renegotiate({ requestCert: true, rejectUnauthorized: false }, (error) => {
      socket.off('error', onRefused)
      if (pair !== undefined) pair.delayMs = 0
      if (error != null || refused) return
      if (options.refuseAfterRenegotiation === true) {
        relay?.pairByUpstreamPort(socket.remotePort as number)?.client.resetAndDestroy()
        socket.destroy()
        return
      }
      renegotiatedSockets.add(socket)
      stats.bodies.push(digest)
      respond(res, 200, { ...info, renegotiated: true })
    })
  }

  const tls12Options = {
    cert: options.cert ?? certs.serverCert,
    key: options.key ?? certs.serverKey,
    maxVersion: 'TLSv1.2' as const,
    ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers })
  }
  const listener = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    handler(req, res).catch(() => res.destroy())
  }
  const tls12 = options.h2 === undefined
    ? https.createServer(tls12Options, listener)
    : http2.createSecureServer({ ...tls12Options, allowHTTP1: true }, listener as never) as unknown as https.Server
  tls12.on('tlsClientError', () => {})
  // HTTP/2 sessions are closed by hand at close(): one that sent a GOAWAY while a stream stayed open
  // would otherwise keep the server's close() from ever calling back (seen on Node 22).
  const sessions = new Set<http2.ServerHttp2Session>()
  tls12.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session)
    session.on('close', () => sessions.delete(session))
  })
  await new Promise<void>((resolve) => tls12.listen(0, '127.0.0.1', resolve))

  let tls13: https.Server | undefined
  if (options.tls13CertUpFront === true) {
    tls13 = https.createServer({
      cert: certs.serverCert,
      key: certs.serverKey,
      ca: certs.ca,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false
    }, (req, res) => { handler(req, res).catch(() => res.destroy()) })
    tls13.on('tlsClientError', () => {})
    await new Promise<void>((resolve) => (tls13 as https.Server).listen(0, '127.0.0.1', resolve))
  }

  const tls12Port = (tls12.address() as AddressInfo).port
  const tls13Port = tls13 === undefined ? undefined : (tls13.address() as AddressInfo).port
  relay = await startRelay({
    backendPort: tls12Port,
    route: tls13Port === undefined ? undefined : (hello) => offersTls13(hello) ? tls13Port : tls12Port
  })
  const r = relay
  return {
    port: r.port,
    stats: new Proxy(stats, { get: (t, k) => k === 'connections' ? r.connections : t[k as keyof ServerStats] }),
    get open () { return r.open },
    close: async () => {
      await r.close()
      for (const session of sessions) session.destroy()
      tls12.closeAllConnections?.()
      await new Promise<void>((resolve) => tls12.close(() => resolve()))
      if (tls13 !== undefined) {
        tls13.closeAllConnections()
        await new Promise<void>((resolve) => (tls13 as https.Server).close(() => resolve()))
      }
    }
  }
}
