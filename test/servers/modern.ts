import https from 'node:https'
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { certs } from './certs.ts'

export interface ModernServer {
  port: number
  /** TLS connections accepted (counted at the TCP level). */
  readonly connections: number
  /** Connections still open. */
  readonly open: number
  requests: Array<{ method: string, path: string, httpVersion: string, protocol: string | null }>
  /** Closes every open connection from the server's side (as an idle timeout would). */
  dropConnections: () => Promise<void>
  close: () => Promise<void>
}

export interface ModernOptions {
  /** Serve HTTP/2 as well as HTTP/1.1 (ALPN). Default: false. */
  h2?: boolean
  cert?: Buffer
  key?: Buffer
  maxVersion?: 'TLSv1.2' | 'TLSv1.3'
  /** The address to listen on. Default: '127.0.0.1' ('::1' for an IPv6 literal origin). */
  host?: string
  /** Handler override; the default answers 200 with a small JSON body describing the request. */
  handle?: (req: import('node:http').IncomingMessage | http2.Http2ServerRequest, res: import('node:http').ServerResponse | http2.Http2ServerResponse) => void
}

/** A well-behaved TLS server (TLS 1.2 and 1.3, no renegotiation): nothing may change for it. */
export async function startModern (options: ModernOptions = {}): Promise<ModernServer> {
  const requests: ModernServer['requests'] = []
  const sockets = new Set<Socket>()
  let connections = 0
  const handle = options.handle ?? ((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.stringify({ ok: true, method: req.method, path: req.url, httpVersion: req.httpVersion, bodyLength: Buffer.concat(chunks).length })
      ;(res as import('node:http').ServerResponse).writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
  const listener = (req: import('node:http').IncomingMessage | http2.Http2ServerRequest, res: import('node:http').ServerResponse | http2.Http2ServerResponse): void => {
    const socket = (req.socket ?? (req as http2.Http2ServerRequest).stream?.session?.socket) as TLSSocket | undefined
    requests.push({ method: req.method ?? '', path: req.url ?? '', httpVersion: req.httpVersion, protocol: socket?.getProtocol?.() ?? null })
    handle(req, res)
  }
  const tlsOptions = {
    cert: options.cert ?? certs.serverCert,
    key: options.key ?? certs.serverKey,
    ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion })
  }
  const server = options.h2 === true
    ? http2.createSecureServer({ ...tlsOptions, allowHTTP1: true }, listener as never)
    : https.createServer(tlsOptions, listener as never)
  server.on('connection', (socket: Socket) => {
    connections += 1
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    get connections () { return connections },
    get open () { return sockets.size },
    requests,
    dropConnections: async () => {
      const closing = [...sockets].map(async (s) => await new Promise((resolve) => { s.once('close', resolve); s.end() }))
      await Promise.all(closing)
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
