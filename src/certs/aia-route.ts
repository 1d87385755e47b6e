import net from 'node:net'
import tls from 'node:tls'
import { openTunnel } from '../proxy/open.ts'
import { isIpLiteral, type Proxy } from '../proxy/options.ts'

/**
 * How an AIA fetch reaches its `http:` URL when a proxy is configured for it: an HTTP(S) proxy
 * forwards a plain GET in absolute form (`GET http://host/path`, as browsers fetch AIA, and as a
 * proxy that refuses CONNECT to port 80 still allows); a SOCKS5 proxy, or an HTTP(S) proxy with
 * `auth` (its 407 legs need our CONNECT code), opens a tunnel. Only the
 * proxy's own credentials (Proxy-Authorization) go to the proxy; the origin's never go anywhere.
 */
export type AiaRoute =
  | { readonly kind: 'forward', readonly connect: () => net.Socket, readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'tunnel', readonly open: (done: (error: Error | null, socket?: net.Socket) => void) => void }

/** The route through `proxy` to host:port (undefined: no proxy, go direct). */
export function aiaRoute (proxy: Proxy | undefined, host: string, port: number, tcp: Record<string, unknown>, timeout: number): AiaRoute | undefined {
  if (proxy === undefined) return undefined
  // A proxy with `auth` (NTLM, Negotiate) is answered only in our CONNECT code: a tunnel, as for SOCKS5.
  if (proxy.protocol === 'socks5:' || proxy.auth !== undefined) {
    return {
      kind: 'tunnel',
      open: (done) => {
        // The tunnel is handed over paused: the HTTP client reads it as any socket.
        openTunnel(proxy, { host, port, tcp, timeout, origin: `http://${host}:${port}` }, (error, socket) => { done(error, socket?.resume()) })
      }
    }
  }
  // Proxy-Authorization only: a proxy consumes it, while it forwards other headers (those the user
  // gave for CONNECT, meant for the proxy) to the AIA host with the GET.
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(proxy.headers)) if (name.toLowerCase() === 'proxy-authorization') headers[name] = value
  return { kind: 'forward', connect: () => connectToProxy(proxy, tcp), headers }
}

/** A connection to an HTTP(S) proxy: TCP, and TLS over it for an https:// proxy (its `proxyTls`, its host checked). */
export function connectToProxy (proxy: Proxy, tcp: Record<string, unknown>): net.Socket {
  if (proxy.protocol !== 'https:') return net.connect({ ...tcp, host: proxy.hostname, port: proxy.port } as net.TcpNetConnectOpts)
  const servername = proxy.proxyTls.servername ?? (isIpLiteral(proxy.hostname) ? undefined : proxy.hostname)
  return tls.connect({
    ...tcp,
    ...proxy.proxyTls,
    host: proxy.hostname,
    port: proxy.port,
    ...(servername === undefined ? {} : { servername }),
    ALPNProtocols: ['http/1.1']
  })
}
