import net from 'node:net'
import type { Proxy } from './options.ts'
import { TunnelSetup, type TunnelCallback, type TunnelTarget } from './tunnel.ts'

const VERSION = 0x05
const NO_AUTH = 0x00
const USER_PASS = 0x02
const NO_ACCEPTABLE = 0xff
const CONNECT = 0x01
const IPV4 = 0x01
const DOMAIN = 0x03
const IPV6 = 0x04

/** RFC 1928 section 6 reply codes. */
const REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported'
}

type Phase = 'method' | 'auth' | 'reply'

/** The longest field a one-byte length can prefix: RFC 1928's DST.ADDR name, RFC 1929's UNAME and PASSWD. */
export const MAX_SOCKS5_FIELD = 255

/**
 * Why this tunnel must not be asked for, or undefined. Every field SOCKS5 prefixes with one length
 * byte is checked here, before any byte goes to the proxy: a longer value would wrap its length
 * byte, and the proxy would read the first bytes of a host name as another host and port, and
 * connect the request (its Authorization header and query included) there. A username or password
 * is also checked at construction (`parseProxy`); the host name is known only now.
 */
export function socks5Refusal (proxy: Proxy, host: string): string | undefined {
  if (net.isIP(host) === 0) {
    const bytes = Buffer.byteLength(host)
    if (bytes > MAX_SOCKS5_FIELD) return `cannot be asked for a host name of ${bytes} bytes: SOCKS5 carries at most ${MAX_SOCKS5_FIELD}`
  }
  if (proxy.username !== undefined && Buffer.byteLength(proxy.username) > MAX_SOCKS5_FIELD) return `has a username longer than ${MAX_SOCKS5_FIELD} bytes (SOCKS5 limit)`
  if (proxy.password !== undefined && Buffer.byteLength(proxy.password) > MAX_SOCKS5_FIELD) return `has a password longer than ${MAX_SOCKS5_FIELD} bytes (SOCKS5 limit)`
  return undefined
}

/**
 * A SOCKS5 client handshake (RFC 1928), with no authentication or username/password (RFC 1929).
 * Host names go to the proxy unresolved (the proxy resolves them, as `socks5h` clients do). A
 * refusal fails with `TLS_FALLBACK_PROXY_ERROR` naming the reply; `statusCode` stays undefined.
 * Open it through `openTunnel`, which refuses first what `socks5Refusal` refuses.
 */
export class Socks5Tunnel extends TunnelSetup {
  #buffer: Buffer = Buffer.alloc(0)
  #phase: Phase = 'method'

  constructor (proxy: Proxy, target: TunnelTarget, callback: TunnelCallback) {
    super(proxy, target, callback)
    const methods = proxy.username === undefined ? [NO_AUTH] : [NO_AUTH, USER_PASS]
    this.stream.write(Buffer.from([VERSION, methods.length, ...methods]))
  }

  protected onData (chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    for (;;) {
      const before = this.#phase
      if (!this.#step()) return
      if (this.#phase === before) return
    }
  }

  /** Consumes one message if it is complete; returns false when more bytes are needed or it failed. */
  #step (): boolean {
    const b = this.#buffer
    if (this.#phase === 'method') {
      if (b.length < 2) return false
      if (b[0] !== VERSION) return this.#bad('answered the SOCKS5 greeting with something that is not SOCKS5')
      const method = b[1]
      this.#buffer = b.subarray(2)
      if (method === NO_AUTH) {
        this.#sendConnect()
      } else if (method === USER_PASS && this.proxy.username !== undefined) {
        const user = Buffer.from(this.proxy.username)
        const pass = Buffer.from(this.proxy.password ?? '')
        this.stream.write(Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]))
        this.#phase = 'auth'
      } else if (method === USER_PASS || method === NO_ACCEPTABLE) {
        return this.#bad(this.proxy.username === undefined
          ? 'requires a username and password (put them in the socks5:// URL)'
          : 'accepts none of the offered authentication methods')
      } else {
        return this.#bad(`chose an authentication method the client did not offer (${String(method)})`)
      }
      return true
    }
    if (this.#phase === 'auth') {
      if (b.length < 2) return false
      if (b[1] !== 0x00) return this.#bad('refused the username and password')
      this.#buffer = b.subarray(2)
      this.#sendConnect()
      return true
    }
    // reply: VER REP RSV ATYP BND.ADDR BND.PORT
    if (b.length < 5) return false
    if (b[0] !== VERSION) return this.#bad('answered the SOCKS5 request with something that is not SOCKS5')
    const reply = b[1] as number
    if (reply !== 0x00) return this.#bad(`refused the tunnel: ${REPLIES[reply] ?? `reply ${reply}`}`)
    const type = b[3]
    const addressLength = type === IPV4 ? 4 : type === IPV6 ? 16 : type === DOMAIN ? 1 + (b[4] as number) : -1
    if (addressLength < 0) return this.#bad('answered with an unknown address type')
    const length = 4 + addressLength + 2
    if (b.length < length) return false
    if (b.length > length) return this.#bad('sent bytes after its SOCKS5 reply, before the client spoke')
    this.#buffer = Buffer.alloc(0)
    this.succeed()
    return false
  }

  #sendConnect (): void {
    const { host, port } = this.target
    let address: Buffer
    if (net.isIPv4(host)) {
      address = Buffer.from([IPV4, ...host.split('.').map(Number)])
    } else if (net.isIPv6(host)) {
      address = Buffer.concat([Buffer.from([IPV6]), ipv6Bytes(host)])
    } else {
      const name = Buffer.from(host)
      address = Buffer.concat([Buffer.from([DOMAIN, name.length]), name])
    }
    const portBytes = Buffer.from([port >> 8, port & 0xff])
    this.stream.write(Buffer.concat([Buffer.from([VERSION, CONNECT, 0x00]), address, portBytes]))
    this.#phase = 'reply'
  }

  #bad (problem: string): false {
    this.fail(problem)
    return false
  }
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail expanded). */
export function ipv6Bytes (text: string): Buffer {
  let address = text
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (v4 !== null) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number]
    address = `${address.slice(0, -(v4[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = address.includes('::') ? address.split('::') as [string, string] : [address, undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, i) => bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2))
  return bytes
}
