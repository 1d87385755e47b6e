import net from 'node:net'
import tls from 'node:tls'
import { proxyError } from '../errors.ts'
import type { ProxyAuthEvent } from '../telemetry.ts'
import { isIpLiteral, type Proxy } from './options.ts'

/** Where a tunnel goes, and how to reach the proxy. */
export interface TunnelTarget {
  /** The origin's host, without brackets. */
  host: string
  port: number
  /** TCP options for the connection to the proxy (lookup, family, ...). */
  tcp: Record<string, unknown>
  /** How long the proxy has to open the tunnel, in ms (the agent's connectTimeout). */
  timeout: number
  localAddress?: string | null | undefined
  /** The origin the tunnel is for (`https://host:port`), reported in the error's `origin`. */
  origin?: string | undefined
  /** Told the outcome of each proxy authentication handshake (`proxy.auth`): scheme and legs, never a token. */
  onAuth?: ((event: ProxyAuthEvent) => void) | undefined
}

export type TunnelCallback = (error: Error | null, socket?: net.Socket) => void

/** `host:port` for messages, IPv6 in brackets, a host name longer than 64 characters shortened. */
function authorityOf (target: TunnelTarget): string {
  const { host, port } = target
  if (net.isIPv6(host)) return `[${host}]:${port}`
  return `${host.length > 64 ? `${host.slice(0, 64)}...` : host}:${port}`
}

/**
 * Fails a tunnel that must not be asked for, without connecting to the proxy: the callback gets
 * `TLS_FALLBACK_PROXY_ERROR` on the next tick. Returns an unconnected socket (what undici cancels through).
 */
export function refuseTunnel (proxy: Proxy, target: TunnelTarget, problem: string, callback: TunnelCallback): net.Socket {
  const socket = new net.Socket()
  process.nextTick(() => {
    socket.destroy()
    callback(proxyError(proxy.redacted, `${problem} (tunnel to ${authorityOf(target)})`, { origin: target.origin }))
  })
  return socket
}

/** The longest answer head a proxy may send before the tunnel is up. */
export const MAX_PROXY_HEAD = 16 * 1024

/**
 * A connection to a proxy while the tunnel is being set up: it owns the socket's listeners and
 * timer, and hands the socket over (paused, no listener of ours left) when the tunnel is up, or
 * fails with `TLS_FALLBACK_PROXY_ERROR`. A failure here is always the proxy's: it never reaches
 * the fingerprints.
 */
export abstract class TunnelSetup {
  protected readonly proxy: Proxy
  protected readonly target: TunnelTarget
  /** The TCP connection to the proxy: what undici cancels through. */
  readonly raw: net.Socket
  /** What the tunnel speaks over: `raw`, or TLS over it for an https:// proxy. */
  protected readonly stream: net.Socket
  readonly #callback: TunnelCallback
  readonly #timer: NodeJS.Timeout
  #done = false
  readonly #onError = (error: Error & { code?: string }): void => {
    const what = error.code === undefined ? error.message : error.code
    this.fail(`could not be reached or failed before the tunnel was up (${what})`, undefined, error)
  }

  readonly #onClose = (): void => { this.fail('closed the connection before the tunnel was up') }
  readonly #onData = (chunk: Buffer): void => { this.onData(chunk) }

  constructor (proxy: Proxy, target: TunnelTarget, callback: TunnelCallback) {
    this.proxy = proxy
    this.target = target
    this.#callback = callback
    this.raw = net.connect({
      ...target.tcp,
      host: proxy.hostname,
      port: proxy.port,
      ...(target.localAddress == null ? {} : { localAddress: target.localAddress })
    } as net.TcpNetConnectOpts)
    // The CONNECT, the SOCKS5 messages and then the origin's TLS records are small writes: no Nagle delay.
    this.raw.setNoDelay(true)
    if (proxy.protocol === 'https:') {
      const servername = proxy.proxyTls.servername ?? (isIpLiteral(proxy.hostname) ? undefined : proxy.hostname)
      this.stream = tls.connect({
        ...proxy.proxyTls,
        socket: this.raw,
        // The identity the certificate must show: without `host`, Node checks a socket's TLS against
        // "localhost" (an IP literal has no servername). An IP literal needs an IP SAN.
        host: proxy.hostname,
        ...(servername === undefined ? {} : { servername }),
        ALPNProtocols: ['http/1.1']
      })
      this.raw.on('error', () => {})
    } else {
      this.stream = this.raw
    }
    this.stream.on('error', this.#onError)
    this.stream.on('close', this.#onClose)
    this.stream.on('data', this.#onData)
    this.#timer = setTimeout(() => this.fail(`did not open the tunnel within ${target.timeout} ms`), target.timeout)
    this.#timer.unref()
  }

  /** The authority the tunnel goes to: `host:port`, IPv6 in brackets. */
  protected get authority (): string {
    const { host, port } = this.target
    return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
  }

  protected abstract onData (chunk: Buffer): void

  /** Whether the tunnel succeeded or failed already. */
  protected get done (): boolean { return this.#done }

  protected fail (problem: string, statusCode?: number, cause?: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#cleanUp()
    this.stream.on('error', () => {})
    this.raw.destroy()
    this.#callback(proxyError(this.proxy.redacted, `${problem} (tunnel to ${authorityOf(this.target)})`, { statusCode, cause, origin: this.target.origin }))
  }

  protected succeed (): void {
    if (this.#done) return
    this.#done = true
    this.#cleanUp()
    this.stream.pause()
    this.#callback(null, this.stream)
  }

  #cleanUp (): void {
    clearTimeout(this.#timer)
    this.stream.off('error', this.#onError)
    this.stream.off('close', this.#onClose)
    this.stream.off('data', this.#onData)
  }
}
