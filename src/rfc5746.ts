import net from 'node:net'
import { Duplex } from 'node:stream'
import tls, { type ConnectionOptions } from 'node:tls'
import { escapeIfUnsafe } from './outside-text.ts'

/**
 * Whether a server implements RFC 5746 (secure renegotiation), read from the ServerHello of a
 * handshake that completed. A strict client that refuses a hello without `renegotiation_info`
 * stops before the Finished messages, so an on-path box can strip the extension from that hello
 * and nothing notices. A handshake that completes has had its whole transcript, the ServerHello
 * included, checked by both Finished messages: its hello is the one the server sent. Node exposes
 * no getter for OpenSSL's `SSL_get_secure_renegotiation_support`, so the check reads the hello
 * itself, over a connection whose bytes it sees.
 */
export type Rfc5746Verdict = 'lacks-rfc5746' | 'supports-rfc5746' | 'unknown'

export interface Rfc5746Check {
  verdict: Rfc5746Verdict
  /** Negotiated protocol of the checking handshake, when it completed. */
  tlsVersion: string | null
  /** One sentence for people. */
  summary: string
}

export interface Rfc5746CheckOptions {
  host: string
  port: number
  /** The TLS options of the stack that accepts a hello without renegotiation_info (legacy-server-connect). */
  tls: ConnectionOptions
  /** `net.connect` options: lookup, family, ... */
  tcp?: net.TcpNetConnectOpts | Record<string, never>
  /**
   * Opens the connection through a tunnel instead of `net.connect` (the host's proxy: the check must
   * take the same way as the host's requests). Calls back with the socket to speak TLS over.
   */
  tunnel?: ((done: (error: Error | null, socket?: net.Socket) => void) => void) | undefined
  /** Milliseconds before the check gives up (verdict `unknown`). */
  timeout: number
  signal?: AbortSignal | undefined
}

const RENEGOTIATION_INFO = 0xff01
const SUPPORTED_VERSIONS = 0x002b
const HANDSHAKE = 22
const SERVER_HELLO = 2
/** The check gives up on a hello that is not complete within this many handshake bytes. */
const MAX_HELLO_BYTES = 64 * 1024

export interface ServerHelloFacts {
  renegotiationInfo: boolean
  /** The server selected TLS 1.3 (supported_versions). */
  tls13: boolean
}

/**
 * Reads the ServerHello at the start of the server's handshake bytes (the payloads of its first
 * handshake records, concatenated). Returns undefined while the hello is incomplete or when the
 * bytes are not a ServerHello.
 */
export function parseServerHello (handshake: Buffer): ServerHelloFacts | undefined {
  if (handshake.length < 4 || handshake[0] !== SERVER_HELLO) return undefined
  const length = handshake.readUIntBE(1, 3)
  if (handshake.length < 4 + length) return undefined
  const end = 4 + length
  let p = 4 + 2 + 32
  if (p + 1 > end) return undefined
  p += 1 + (handshake[p] as number) // session id
  p += 2 + 1 // cipher suite, compression method
  const facts: ServerHelloFacts = { renegotiationInfo: false, tls13: false }
  if (p > end) return undefined
  if (p === end) return facts // no extensions at all
  if (p + 2 > end) return undefined
  const extensionsEnd = p + 2 + handshake.readUInt16BE(p)
  if (extensionsEnd > end) return undefined
  p += 2
  while (p + 4 <= extensionsEnd) {
    const type = handshake.readUInt16BE(p)
    const size = handshake.readUInt16BE(p + 2)
    if (p + 4 + size > extensionsEnd) return undefined
    if (type === RENEGOTIATION_INFO) facts.renegotiationInfo = true
    if (type === SUPPORTED_VERSIONS && size === 2 && handshake.readUInt16BE(p + 4) === 0x0304) facts.tls13 = true
    p += 4 + size
  }
  return facts
}

/**
 * A pass-through Duplex around a TCP socket that keeps the server's first handshake bytes (in
 * plaintext before the keys change) until the ServerHello is complete.
 */
class HelloObserver extends Duplex {
  readonly #raw: net.Socket
  #handshake = Buffer.alloc(0)
  #records = Buffer.alloc(0)
  hello: ServerHelloFacts | undefined
  #done = false

  constructor (raw: net.Socket) {
    super()
    this.#raw = raw
    raw.on('data', (chunk: Buffer) => {
      if (!this.#done) this.#scan(chunk)
      if (!this.push(chunk)) raw.pause()
    })
    raw.on('end', () => this.push(null))
    raw.on('error', (error) => this.destroy(error))
    raw.on('close', () => { if (!this.destroyed) this.destroy() })
  }

  #scan (chunk: Buffer): void {
    this.#records = Buffer.concat([this.#records, chunk])
    while (this.#records.length >= 5) {
      const length = this.#records.readUInt16BE(3)
      if (this.#records.length < 5 + length) return
      if (this.#records[0] !== HANDSHAKE) {
        this.#done = true
        return
      }
      this.#handshake = Buffer.concat([this.#handshake, this.#records.subarray(5, 5 + length)])
      this.#records = this.#records.subarray(5 + length)
      const hello = parseServerHello(this.#handshake)
      if (hello !== undefined || this.#handshake.length > MAX_HELLO_BYTES) {
        this.hello = hello
        this.#done = true
        this.#records = Buffer.alloc(0)
        this.#handshake = Buffer.alloc(0)
        return
      }
    }
  }

  override _read (): void {
    this.#raw.resume()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#raw.write(chunk, callback)
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.#raw.end()
    callback()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#raw.destroy()
    callback(error)
  }
}

/**
 * Makes one handshake (no request) with options that accept a hello without renegotiation_info,
 * and reports what the server's authenticated hello says. Never rejects.
 */
export async function checkRfc5746 (options: Rfc5746CheckOptions): Promise<Rfc5746Check> {
  const { host, port } = options
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  let raw: net.Socket
  if (options.tunnel === undefined) {
    raw = net.connect({ ...options.tcp, host: bare, port } as net.TcpNetConnectOpts)
  } else {
    const opened = await new Promise<net.Socket | Error>((resolve) => {
      (options.tunnel as NonNullable<Rfc5746CheckOptions['tunnel']>)((error, socket) => resolve(error ?? socket ?? new Error('no tunnel')))
    })
    if (opened instanceof Error) {
      const code = (opened as Error & { code?: string }).code
      return { verdict: 'unknown', tlsVersion: null, summary: `the checking handshake did not complete (the proxy: ${code ?? 'failed'})` }
    }
    raw = opened
  }
  return await new Promise<Rfc5746Check>((resolve) => {
    let settled = false
    const observer = new HelloObserver(raw)
    const socket = tls.connect({
      ...options.tls,
      ...(options.tls.servername === undefined && net.isIP(bare) === 0 ? { servername: bare } : {}),
      // The identity the certificate must show: without `host`, Node checks TLS over a socket
      // against "localhost" (an IP literal has no servername). An IP literal needs an IP SAN.
      host: bare,
      socket: observer
    })
    const finish = (check: Rfc5746Check): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      observer.destroy()
      resolve(check)
    }
    const fail = (why: string): void => finish({ verdict: 'unknown', tlsVersion: null, summary: `the checking handshake did not complete (${why})` })
    const onAbort = (): void => fail('aborted')
    const timer = setTimeout(() => fail(`no handshake within ${options.timeout} ms`), options.timeout)
    timer.unref()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    if (options.signal?.aborted === true) onAbort()
    socket.once('secureConnect', () => {
      const tlsVersion = socket.getProtocol()
      const hello = observer.hello
      if (hello === undefined) {
        finish({ verdict: 'unknown', tlsVersion, summary: 'the server\'s hello could not be read' })
      } else if (hello.tls13 || tlsVersion === 'TLSv1.3') {
        finish({ verdict: 'supports-rfc5746', tlsVersion, summary: 'a completed handshake negotiated TLS 1.3, where RFC 5746 does not apply' })
      } else if (hello.renegotiationInfo) {
        finish({ verdict: 'supports-rfc5746', tlsVersion, summary: 'the server\'s authenticated hello carries renegotiation_info (RFC 5746)' })
      } else {
        finish({ verdict: 'lacks-rfc5746', tlsVersion, summary: 'the server\'s authenticated hello carries no renegotiation_info (no RFC 5746)' })
      }
    })
    // A message may quote the server's certificate (its names): escaped before it reaches a log line.
    socket.on('error', (error: Error & { code?: string }) => fail(error.code ?? escapeIfUnsafe(error.message)))
    socket.on('close', () => fail('closed'))
  })
}
