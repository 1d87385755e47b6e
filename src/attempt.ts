import type { Dispatcher } from 'undici'
import type { Duplex } from 'node:stream'
import { expectConnection, http2FactsFor, type ConnectionFacts, type ConnectionSink } from './connector.ts'
import type { Http2StreamFacts } from './fingerprint.ts'
import type { HeldResponse } from './response-hold.ts'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController
type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2]

/**
 * Where an attempt's callbacks go (a FallbackRequest, src/request.ts), while isCurrent says that
 * the attempt still counts.
 */
export interface AttemptOwner {
  /** Whether callbacks of this attempt still count (a later attempt replaced it, or the request ended). */
  isCurrent: (attempt: number) => boolean
  /** Whether the caller's handler got its last callback. */
  readonly ended: boolean
  onAttemptStart: (controller: Controller, context: unknown) => void
  /** A request that ended (the caller aborted) while its attempt waited for a connection. */
  onStaleStart: (controller: Controller) => void
  onAttemptUpgrade: (statusCode: number, headers: Headers, socket: Duplex) => void
  onAttemptHeaders: (statusCode: number, headers: Headers, statusMessage: string | undefined, attempt: AttemptHandler) => void
  onAttemptData: (chunk: Buffer) => void
  onAttemptEnd: (trailers: Headers) => void
  onAttemptFailed: (error: Error & { code?: string }, http2?: Http2StreamFacts) => void
  /** The caller's handler, for the callbacks that carry no controller. */
  readonly caller: Pick<Handler, 'onResponseStarted' | 'onBodySent' | 'onRequestSent'>
}

/**
 * The handler of one attempt: it forwards to its request while the attempt is the current one.
 * A class (methods on the prototype), not an object of closures: one small object per attempt.
 */
export class AttemptHandler implements Handler, ConnectionSink {
  readonly #request: AttemptOwner
  readonly #attempt: number
  /** The connection this attempt's request went out on (set by the connector, see expectConnection). */
  connection: ConnectionFacts | undefined = undefined
  /** Set while the request holds this attempt's response back: its callbacks go there. */
  hold: HeldResponse | undefined = undefined
  /** The HTTP/2 stream of this attempt's request (set by the connector). */
  http2Stream: object | undefined = undefined

  constructor (request: AttemptOwner, attempt: number) {
    this.#request = request
    this.#attempt = attempt
  }

  onRequestStart (controller: Controller, context: unknown): void {
    if (this.#request.isCurrent(this.#attempt)) {
      expectConnection(this)
      this.#request.onAttemptStart(controller, context)
    } else {
      this.#request.onStaleStart(controller)
    }
  }

  onRequestUpgrade (_controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.connection?.release(this)
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptUpgrade(statusCode, headers, socket)
  }

  onResponseStarted (): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.caller.onResponseStarted?.()
  }

  onResponseStart (_controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptHeaders(statusCode, headers, statusMessage, this)
  }

  onResponseData (_controller: Controller, chunk: Buffer): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptData(chunk)
    else if (this.hold !== undefined && !this.#request.ended) this.hold.data(chunk)
  }

  onResponseEnd (_controller: Controller, trailers: Headers): void {
    this.connection?.release(this)
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptEnd(trailers)
    else if (this.hold !== undefined && !this.#request.ended) this.hold.end(trailers)
  }

  onResponseError (_controller: Controller | null, error: Error): void {
    this.connection?.release(this)
    if (this.#request.isCurrent(this.#attempt)) this.#request.onAttemptFailed(error, http2FactsFor(this))
    else if (this.hold !== undefined && !this.#request.ended) this.hold.error(error)
  }

  onBodySent (chunk: Buffer): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.caller.onBodySent?.(chunk)
  }

  onRequestSent (): void {
    if (this.#request.isCurrent(this.#attempt)) this.#request.caller.onRequestSent?.()
  }
}
