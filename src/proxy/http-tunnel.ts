import type { Proxy } from './options.ts'
import { MAX_PROXY_HEAD, TunnelSetup, type TunnelCallback, type TunnelTarget } from './tunnel.ts'

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?$/
const HEAD_END = Buffer.from('\r\n\r\n')

/**
 * An HTTP CONNECT tunnel (RFC 9110 section 9.3.6) through an http:// or https:// proxy. Any 2xx opens
 * the tunnel; any other answer (407, 403, 502, 503, ...) fails with `TLS_FALLBACK_PROXY_ERROR` and
 * the proxy's status. The proxy's answer never reaches the origin's byte counters: the caller takes
 * its marks once the tunnel is up.
 */
export class HttpTunnel extends TunnelSetup {
  #head: Buffer = Buffer.alloc(0)

  constructor (proxy: Proxy, target: TunnelTarget, callback: TunnelCallback) {
    super(proxy, target, callback)
    let request = `CONNECT ${this.authority} HTTP/1.1\r\nhost: ${this.authority}\r\n`
    for (const [name, value] of Object.entries(proxy.headers)) request += `${name}: ${value}\r\n`
    this.stream.write(`${request}\r\n`)
  }

  protected onData (chunk: Buffer): void {
    this.#head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk])
    const end = this.#head.indexOf(HEAD_END)
    if (end === -1) {
      if (this.#head.length > MAX_PROXY_HEAD) this.fail(`answered the CONNECT with a head longer than ${MAX_PROXY_HEAD} bytes`)
      return
    }
    const statusLine = this.#head.subarray(0, this.#head.indexOf('\r\n')).toString('latin1')
    const match = STATUS_LINE.exec(statusLine)
    if (match === null) {
      this.fail('answered the CONNECT with something that is not HTTP/1.x')
      return
    }
    const status = Number(match[1])
    const reason = (match[2] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 80)
    if (status < 200 || status > 299) {
      const sentCredentials = Object.keys(this.proxy.headers).some((name) => name.toLowerCase() === 'proxy-authorization')
      this.fail(`answered the CONNECT with ${status}${reason === '' ? '' : ` ${reason}`}${hint(status, sentCredentials)}`, status)
      return
    }
    if (end + HEAD_END.length !== this.#head.length) {
      // A TLS server never speaks first: bytes here are the proxy's, not the origin's.
      this.fail('sent bytes after its CONNECT answer, before the client spoke', status)
      return
    }
    this.succeed()
  }
}

function hint (status: number, sentCredentials: boolean): string {
  // A 407 to a CONNECT that carried Proxy-Authorization is a refusal of those credentials, not a request for some.
  if (status === 407) return sentCredentials ? ': it rejected the credentials sent (check the user name and password in the proxy URL, or the token)' : ': it needs credentials (in the proxy URL, or token)'
  if (status === 403) return ': it refuses tunnels to this host or port'
  if (status === 502 || status === 503 || status === 504) return ': it could not reach the origin'
  return ''
}
