import type { Dispatcher } from 'undici'
import type { ConnectionFacts } from './connector.ts'
import { mayHoldBack } from './decide.ts'
import { isApachePostHandshakeAuth, type FingerprintId } from './fingerprint.ts'

type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2]

/**
 * The most body bytes a response may be held back for: a 403 whose Content-Length is larger, or that
 * has none (chunked, or delimited by the close), is not held at all; one that sends more than its
 * Content-Length said is released as soon as more than this arrived. Apache's post-handshake-auth
 * page is 298 bytes, about 400 with its signature line.
 */
export const HOLD_LIMIT = 4096

/** Where a held response goes (a FallbackRequest, src/request.ts): once released, callbacks go on as usual. */
export interface HoldOwner {
  /** Whether the caller's handler got its last callback. */
  readonly ended: boolean
  readonly abortedByCaller: boolean
  /** A held response's status and headers reach the caller; `success`: whether it counts as the request's answer (a policy may be learned). */
  answered: (held: HeldResponse, success: boolean) => void
  /** The whole body arrived, and it is Apache's post-handshake-auth page: the owner's recovery decides. */
  heldPostHandshakeAuth: (held: HeldResponse, trailers: Headers) => void
  /** The whole body of a held 413 arrived (uploads: the one resend decides, see src/upload-request.ts). */
  heldTooLarge: (held: HeldResponse, trailers: Headers) => void
  onAttemptData: (chunk: Buffer) => void
  onAttemptEnd: (trailers: Headers) => void
  onAttemptFailed: (error: Error) => void
}

/**
 * A 403 that may be Apache's post-handshake-auth page, held back while its body arrives (see
 * `mayHoldBack`); undefined when it goes to the caller as it comes.
 */
export function holdPostHandshakeAuth (owner: HoldOwner, responded: boolean, pinned: boolean, fingerprint: FingerprintId | undefined,
  headers: Headers, statusMessage: string | undefined, connection: ConnectionFacts | undefined): HeldResponse | undefined {
  if (!mayHoldBack(responded, pinned, connection?.protocol, fingerprint) || !HeldResponse.fits(headers)) return undefined
  return new HeldResponse(owner, 403, headers, statusMessage, connection)
}

/**
 * A response held back while its owner decides whether it is a fingerprint (Apache's own 403 on TLS
 * 1.3 saying it cannot perform post-handshake authentication: see `isApachePostHandshakeAuth`). It keeps the status, headers and
 * body chunks exactly as they came, so a response that is not the fingerprint reaches the caller
 * whole and in order. Only responses that `fits` allows are held, so at most HOLD_LIMIT bytes: a
 * 403 on a TLS 1.3 connection, or on the stack tried after that fingerprint (so that the policy
 * moves only once that stack got another answer), as `mayHoldBack` decides. Any other response, and
 * a 403 with a longer body, streams through untouched.
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

  /**
   * Whether a response with these headers may be held: a Content-Length up to HOLD_LIMIT. Apache
   * sends its page with one, never chunked, so a response without one is never the fingerprint and
   * streams at once.
   */
  static fits (headers: Headers): boolean {
    const length = headers['content-length']
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
      if (!this.#owner.ended) this.#release(true)
    }
  }

  end (trailers: Headers): void {
    const owner = this.#owner
    if (this.#released) {
      owner.onAttemptEnd(trailers)
      return
    }
    this.#released = true
    if (owner.ended) return
    if (this.statusCode === 413) {
      owner.heldTooLarge(this, trailers)
      return
    }
    const answer = { statusCode: this.statusCode, statusMessage: this.statusMessage, headers: this.headers, body: this.body(), alpn: this.connection?.alpn }
    if (isApachePostHandshakeAuth(answer)) owner.heldPostHandshakeAuth(this, trailers)
    else this.deliver(trailers, true)
  }

  error (error: Error): void {
    const owner = this.#owner
    if (this.#released) {
      owner.onAttemptFailed(error)
      return
    }
    this.#released = true
    if (owner.ended) return
    // The caller sees what it would have seen without the hold: the response so far, then the error.
    if (!owner.abortedByCaller) this.#release(true)
    owner.onAttemptFailed(error)
  }

  /** Hands the caller the held response whole; `success`: whether it counts as the request's answer (a policy may be learned). */
  deliver (trailers: Headers, success: boolean): void {
    this.#release(success)
    if (!this.#owner.ended) this.#owner.onAttemptEnd(trailers)
  }

  /** Hands the caller the status, headers and body so far, as they came. */
  #release (success: boolean): void {
    const owner = this.#owner
    owner.answered(this, success)
    for (const chunk of this.take()) {
      if (owner.ended || owner.abortedByCaller) return
      owner.onAttemptData(chunk)
    }
  }

  /** The body as it came (a Content-Encoding is not undone: Apache never encodes the page it is held for). */
  body (): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0] as Buffer : Buffer.concat(this.#chunks)
  }
}
