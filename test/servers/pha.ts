import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { gzipSync } from 'node:zlib'
import { certs } from './certs.ts'

/**
 * Apache 2.4's 403 page when mod_ssl cannot perform post-handshake authentication (298 bytes), as
 * Apache 2.4.71 sent it (test/servers/apache.ts on Debian's default protocols), with its headers:
 * `Server: Apache/...`, `Content-Type: text/html; charset=iso-8859-1`, `Content-Length`; never
 * chunked or compressed. `ServerSignature On` adds APACHE_SIGNATURE's line before `</body></html>`.
 */
export const APACHE_PHA_PAGE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n' +
  '<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n' +
  '<p>You don\'t have permission to access this resource.Reason: Cannot perform Post-Handshake Authentication.<br /></p>\n' +
  '</body></html>\n'

/** The line `ServerSignature On` adds (Debian's default security.conf), as Apache 2.4.71 wrote it for `Host: localhost:PORT`. */
export function apacheSignature (port: number, banner = 'Apache/2.4.71 (Debian) OpenSSL/3.0.22'): string {
  return `<hr>\n<address>${banner} Server at localhost Port ${port}</address>\n`
}

/** APACHE_PHA_PAGE with a signature line, as `ServerSignature On` makes it. */
export function apachePageWithSignature (signature: string): string {
  return APACHE_PHA_PAGE.replace('</body></html>\n', `${signature}</body></html>\n`)
}

/** The headers Apache's own error page has (Date and Content-Length are added by the server). */
export const APACHE_PHA_HEADERS = Object.freeze({ server: 'Apache/2.4.71 (Debian) OpenSSL/3.0.22', 'content-type': 'text/html; charset=iso-8859-1' })

export interface PhaLikeOptions {
  /** Answer the post-handshake-auth 403 on TLS 1.2 as well (a buggy server): nothing ever works. */
  alsoOnTls12?: boolean
  /** Send the 403 gzip-encoded (Apache does not: the page is then not Apache's). */
  gzip?: boolean
  /** Send the 403 chunked, without Content-Length (Apache does not: the page is then not Apache's). */
  chunked?: boolean
  /** Add `ServerSignature On`'s line to the page. */
  signature?: boolean
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
  const renegotiated = new WeakSet<TLSSocket>()
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
        const text = options.signature === true ? apachePageWithSignature(apacheSignature(port)) : APACHE_PHA_PAGE
        const page = Buffer.from(text, 'latin1')
        const body = options.gzip === true ? gzipSync(page) : page
        answer(req, res, protocol, 403, body, {
          ...APACHE_PHA_HEADERS,
          ...(options.gzip === true ? { 'content-encoding': 'gzip' } : {})
        })
        return
      }
      if (renegotiated.has(socket)) {
        // As Apache: a connection that renegotiated for the location keeps its client certificate.
        ok(true)
        return
      }
      socket.renegotiate({ requestCert: true, rejectUnauthorized: false }, (error) => {
        if (error != null) {
          socket.destroy()
          return
        }
        renegotiated.add(socket)
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
  const port = (server.address() as AddressInfo).port
  return {
    port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
