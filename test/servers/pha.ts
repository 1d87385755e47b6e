import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { gzipSync } from 'node:zlib'
import { certs } from './certs.ts'

/** Apache 2.4's 403 page when mod_ssl cannot perform post-handshake authentication (298 bytes). */
export const APACHE_PHA_PAGE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n' +
  '<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n' +
  '<p>You don\'t have permission to access this resource.Reason: Cannot perform Post-Handshake Authentication.<br /></p>\n' +
  '</body></html>\n'

export interface PhaLikeOptions {
  /** Answer the post-handshake-auth 403 on TLS 1.2 as well (a buggy server): nothing ever works. */
  alsoOnTls12?: boolean
  /** Send the 403 gzip-encoded. */
  gzip?: boolean
  /** Send the 403 chunked (no Content-Length). */
  chunked?: boolean
  /** Speak TLS 1.3 only (no renegotiation possible at all). */
  tls13Only?: boolean
  cert?: Buffer
  key?: Buffer
}

export interface PhaLikeServer {
  port: number
  /** `METHOD path protocol status`, one per request. */
  requests: string[]
  close: () => Promise<void>
}

/**
 * A Node emulator of Apache with `SSLVerifyClient require` in a `<Location /secure>` on its default
 * protocols: over TLS 1.3 it answers `/secure` with Apache's post-handshake-auth 403; over TLS 1.2
 * it renegotiates to ask for a client certificate and then answers 200. A Node server cannot read a
 * certificate sent during a renegotiation, so it does not check one: the real Apache tests do.
 */
export async function startPhaLike (options: PhaLikeOptions = {}): Promise<PhaLikeServer> {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const answer = (req: IncomingMessage, res: ServerResponse, protocol: string | null, status: number, body: Buffer, headers: Record<string, string | number> = {}): void => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''} ${protocol ?? ''} ${status}`)
    res.writeHead(status, { ...headers, ...(options.chunked === true ? {} : { 'content-length': body.length }) })
    res.end(body)
  }
  const server = https.createServer({
    cert: options.cert ?? certs.serverCert,
    key: options.key ?? certs.serverKey,
    ...(options.tls13Only === true ? { minVersion: 'TLSv1.3' as const } : {})
  }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const socket = req.socket as TLSSocket
      const protocol = socket.getProtocol()
      const bodyLength = Buffer.concat(chunks).length
      const ok = (renegotiated: boolean): void => {
        answer(req, res, protocol, 200, Buffer.from(JSON.stringify({ ok: true, method: req.method, bodyLength, renegotiated })), { 'content-type': 'application/json' })
      }
      if (!(req.url ?? '/').startsWith('/secure')) {
        ok(false)
        return
      }
      if (protocol === 'TLSv1.3' || options.alsoOnTls12 === true) {
        const page = Buffer.from(APACHE_PHA_PAGE, 'latin1')
        const body = options.gzip === true ? gzipSync(page) : page
        answer(req, res, protocol, 403, body, {
          'content-type': 'text/html; charset=iso-8859-1',
          ...(options.gzip === true ? { 'content-encoding': 'gzip' } : {})
        })
        return
      }
      socket.renegotiate({ requestCert: true, rejectUnauthorized: false }, (error) => {
        if (error != null) {
          socket.destroy()
          return
        }
        ok(true)
      })
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
