import type { Dispatcher } from 'undici'
import { brotliDecompressSync, constants as zlib, gunzipSync, inflateSync, type ZlibOptions } from 'node:zlib'
import type { ConnectionFacts } from './connector.ts'

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/**
 * The most body bytes a response may be held back for: a 403 whose Content-Length is larger is not
 * held at all, and one without Content-Length (chunked, or delimited by the close) is released as
 * soon as more than this arrived. Apache's post-handshake-auth page is about 300 bytes.
 */
export const HOLD_LIMIT = 4096

/** A decoded body may be larger than the encoded one, but not without bound (a compression bomb). */
const MAX_DECODED = 64 * 1024

/** Where a held response goes: its owner decides at the end; once released, callbacks go on as usual. */
export interface HoldOwner {
  /** The whole body arrived while held: decide, then release it or drop it. */
  heldEnded: (held: HeldResponse, trailers: Headers) => void
  /** More than HOLD_LIMIT bytes: the owner releases what was held; later chunks go to onAttemptData. */
  heldOverflowed: (held: HeldResponse) => void
  /** The attempt failed while held: the owner releases what was held, then fails as usual. */
  heldFailed: (held: HeldResponse, error: Error) => void
  onAttemptData: (chunk: Buffer) => void
  onAttemptEnd: (trailers: Headers) => void
  onAttemptFailed: (error: Error) => void
}

/**
 * A response held back while its owner decides whether it is a fingerprint (a 403 on TLS 1.3 that
 * says the server cannot perform post-handshake authentication). It keeps the status, headers and
 * body chunks exactly as they came, so a response that is not the fingerprint reaches the caller
 * whole and in order. Only responses that `fits` allows are held, so at most HOLD_LIMIT bytes.
 */
export class HeldResponse {
  readonly statusCode: number
  readonly headers: Headers
  readonly statusMessage: string | undefined
  /** The connection the request went out on, when the connector knew it. */
  readonly connection: ConnectionFacts | undefined
  readonly #owner: HoldOwner
  #chunks: Buffer[] = []
  #size = 0
  #released = false

  constructor (owner: HoldOwner, statusCode: number, headers: Headers, statusMessage: string | undefined, connection: ConnectionFacts | undefined) {
    this.#owner = owner
    this.statusCode = statusCode
    this.headers = headers
    this.statusMessage = statusMessage
    this.connection = connection
  }

  /** Whether a response with these headers may be held: a Content-Length up to HOLD_LIMIT, or none. */
  static fits (headers: Headers): boolean {
    const length = headers['content-length']
    if (length === undefined) return true
    if (typeof length !== 'string' || !/^\d{1,6}$/.test(length)) return false
    return Number(length) <= HOLD_LIMIT
  }

  /** Body bytes held so far. */
  get size (): number {
    return this.#size
  }

  /** The held chunks, as they came. Once taken, the hold keeps nothing. */
  take (): Buffer[] {
    const chunks = this.#chunks
    this.#chunks = []
    return chunks
  }

  data (chunk: Buffer): void {
    if (this.#released) {
      this.#owner.onAttemptData(chunk)
      return
    }
    this.#chunks.push(chunk)
    this.#size += chunk.length
    if (this.#size > HOLD_LIMIT) {
      this.#released = true
      this.#owner.heldOverflowed(this)
    }
  }

  end (trailers: Headers): void {
    if (this.#released) {
      this.#owner.onAttemptEnd(trailers)
      return
    }
    this.#released = true
    this.#owner.heldEnded(this, trailers)
  }

  error (error: Error): void {
    if (this.#released) {
      this.#owner.onAttemptFailed(error)
      return
    }
    this.#released = true
    this.#owner.heldFailed(this, error)
  }

  /**
   * The body with its Content-Encoding undone (gzip, deflate, br), for matching only; undefined when
   * the encoding is unknown or the body does not decode.
   */
  decodedBody (): Buffer | undefined {
    const body = this.#chunks.length === 1 ? this.#chunks[0] as Buffer : Buffer.concat(this.#chunks)
    const encoding = this.headers['content-encoding']
    if (encoding === undefined) return body
    if (typeof encoding !== 'string') return undefined
    const options: ZlibOptions = { maxOutputLength: MAX_DECODED }
    try {
      switch (encoding.trim().toLowerCase()) {
        case '':
        case 'identity':
          return body
        case 'gzip':
        case 'x-gzip':
          return gunzipSync(body, { ...options, finishFlush: zlib.Z_SYNC_FLUSH })
        case 'deflate':
          return inflateSync(body, { ...options, finishFlush: zlib.Z_SYNC_FLUSH })
        case 'br':
          return brotliDecompressSync(body, { maxOutputLength: MAX_DECODED })
        default:
          return undefined
      }
    } catch {
      return undefined
    }
  }
}
