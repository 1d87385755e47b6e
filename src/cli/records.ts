import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

/** TLS record content types (RFC 8446 section 5.1). */
export const RecordType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  heartbeat: 24
} as const

export interface TlsRecord {
  direction: 'client' | 'server'
  type: number
  /** Record-layer version as written on the wire, such as 0x0303. */
  version: number
  /** Length of the record's fragment (after the 5-byte header). */
  length: number
  /** Milliseconds since the observer started. */
  at: number
}

const MAX_FRAGMENT = 16_384 + 2_048

/**
 * Splits one direction of a TLS byte stream into records, from their 5-byte headers, however the
 * bytes are chunked. Anything that is not a TLS record (plaintext HTTP, junk) stops it: `broken`
 * says why, and no further records are reported for that direction.
 */
export class RecordTracker {
  readonly #direction: 'client' | 'server'
  readonly #onRecord: (record: TlsRecord) => void
  readonly #now: () => number
  #header = Buffer.alloc(5)
  #headerFill = 0
  #remaining = 0
  broken: string | undefined

  constructor (direction: 'client' | 'server', onRecord: (record: TlsRecord) => void, now: () => number) {
    this.#direction = direction
    this.#onRecord = onRecord
    this.#now = now
  }

  push (chunk: Uint8Array): void {
    let offset = 0
    while (offset < chunk.length && this.broken === undefined) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset)
        this.#remaining -= take
        offset += take
        continue
      }
      const take = Math.min(5 - this.#headerFill, chunk.length - offset)
      this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill)
      this.#headerFill += take
      offset += take
      if (this.#headerFill < 5) return
      this.#headerFill = 0
      const type = this.#header[0] as number
      const version = this.#header.readUInt16BE(1)
      const length = this.#header.readUInt16BE(3)
      if (type < RecordType.changeCipherSpec || type > RecordType.heartbeat || (version >> 8) !== 3 || length > MAX_FRAGMENT) {
        this.broken = `not a TLS record (first bytes ${this.#header.toString('hex')})`
        return
      }
      this.#remaining = length
      this.#onRecord({ direction: this.#direction, type, version, length, at: this.#now() })
    }
  }
}

/**
 * A pass-through Duplex around a TCP socket that reports every TLS record in both directions.
 * `tls.connect({ socket: observer })` then runs TLS over it (in JavaScript, slower than native TLS:
 * fine for a probe, not for traffic).
 */
export class RecordObserver extends Duplex {
  readonly records: TlsRecord[] = []
  readonly #socket: Socket
  readonly #started = performance.now()
  readonly #fromClient: RecordTracker
  readonly #fromServer: RecordTracker
  /** When the TCP connection ended, and how. */
  connectionEnd: { at: number, how: 'reset' | 'fin' | 'error' | 'local', code?: string } | undefined

  constructor (socket: Socket) {
    super()
    this.#socket = socket
    const now = (): number => Math.round((performance.now() - this.#started) * 10) / 10
    this.#fromClient = new RecordTracker('client', (r) => this.records.push(r), now)
    this.#fromServer = new RecordTracker('server', (r) => this.records.push(r), now)
    socket.on('data', (chunk: Buffer) => {
      this.#fromServer.push(chunk)
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => {
      this.connectionEnd ??= { at: now(), how: 'fin' }
      this.push(null)
    })
    socket.on('error', (error: Error & { code?: string }) => {
      this.connectionEnd ??= { at: now(), how: error.code === 'ECONNRESET' ? 'reset' : 'error', code: error.code }
      this.destroy(error)
    })
    socket.on('connect', () => this.emit('connect'))
    socket.on('close', () => {
      this.connectionEnd ??= { at: now(), how: 'local' }
    })
  }

  elapsed (): number {
    return Math.round((performance.now() - this.#started) * 10) / 10
  }

  get brokenStream (): string | undefined {
    return this.#fromServer.broken
  }

  override _read (): void {
    this.#socket.resume()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#fromClient.push(chunk)
    this.#socket.write(chunk, callback)
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.#socket.end(callback)
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy(error ?? undefined)
    callback(error)
  }
}
