import type net from 'node:net'
import { HttpTunnel } from './http-tunnel.ts'
import type { Proxy } from './options.ts'
import { Socks5Tunnel, socks5Refusal } from './socks5.ts'
import { refuseTunnel, type TunnelCallback, type TunnelTarget } from './tunnel.ts'

/**
 * Opens a tunnel to `target` through `proxy` (CONNECT for http:// and https:// proxies, SOCKS5 for
 * socks5://). Returns the TCP socket to the proxy, through which the attempt can be cancelled; the
 * callback gets the socket to speak to the origin over once the tunnel is up. A tunnel the protocol
 * cannot carry as asked (a SOCKS5 field longer than its length byte) fails with
 * `TLS_FALLBACK_PROXY_ERROR` before any connection to the proxy.
 */
export function openTunnel (proxy: Proxy, target: TunnelTarget, callback: TunnelCallback): net.Socket {
  const refusal = proxy.protocol === 'socks5:' ? socks5Refusal(proxy, target.host) : undefined
  if (refusal !== undefined) return refuseTunnel(proxy, target, refusal, callback)
  const setup = proxy.protocol === 'socks5:'
    ? new Socks5Tunnel(proxy, target, callback)
    : new HttpTunnel(proxy, target, callback)
  return setup.raw
}
