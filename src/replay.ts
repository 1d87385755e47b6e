import { Readable } from 'node:stream'

/** Methods that RFC 9110 defines as idempotent: safe to send twice. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'QUERY'])

export function isIdempotent (method: string, explicit: boolean | undefined): boolean {
  if (explicit !== undefined) return explicit
  return IDEMPOTENT.has(method.toUpperCase())
}

export const DEFAULT_MAX_REPLAY_BODY_SIZE = 1024 * 1024

type Chunk = Buffer

/** The chunk list of a body that records nothing (a string, bytes, no body): shared, never written to. */
const NO_CHUNKS: readonly Chunk[] = Object.freeze([])

function toBuffer (chunk: unknown): Chunk {
  if (Buffer.isBuffer(chunk)) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk)
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk)
  throw new TypeError(`request body chunks must be strings or bytes, got ${typeof chunk}`)
}

function isStreamLike (body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false
  // FormData is iterable, but it is data: undici serializes it again for every attempt.
  if (typeof (body as { getAll?: unknown }).getAll === 'function' && typeof (body as { append?: unknown }).append === 'function') return false
  return body instanceof Readable ||
    typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' ||
    typeof (body as { getReader?: unknown }).getReader === 'function' ||
    (typeof (body as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function' && !ArrayBuffer.isView(body))
}

/**
 * A request body that may have to be sent more than once. Strings, bytes, Blobs and FormData are
 * sent again as they are. A stream is teed: its chunks are recorded as they go out, up to
 * `maxSize` bytes; a replay sends the recorded chunks and then whatever the source still has.
 * Past `maxSize` the body is no longer replayable.
 */
export class ReplayableBody {
  readonly #static: unknown
  readonly #streaming: boolean
  readonly #maxSize: number
  #source: AsyncIterator<unknown> | undefined
  #sourceStream: { destroy?: (error?: Error) => void } | undefined
  /** The chunks recorded so far (streams only: a string or bytes body never allocates it). */
  #chunks: Chunk[] = NO_CHUNKS as Chunk[]
  #size = 0
  #overflow = false
  #ended = false
  #pending: Promise<{ chunk: Chunk, recorded: boolean } | undefined> | undefined

  constructor (body: unknown, maxSize: number) {
    this.#maxSize = maxSize
    if (body == null || typeof body === 'string' || body instanceof Uint8Array || !isStreamLike(body)) {
      this.#static = body
      this.#streaming = false
    } else {
      this.#static = undefined
      this.#streaming = true
      this.#sourceStream = body
      this.#chunks = []
      let iterable = body as AsyncIterable<unknown> | Iterable<unknown>
      if (typeof (body as { getReader?: unknown }).getReader === 'function' &&
        typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
        iterable = Readable.fromWeb(body as import('node:stream/web').ReadableStream)
      }
      this.#source = Symbol.asyncIterator in iterable
        ? (iterable)[Symbol.asyncIterator]()
        : toAsync((iterable)[Symbol.iterator]())
    }
  }

  /**
   * The replayable body of a request's body: one shared instance for no body (undefined or null:
   * most requests), which holds no state; a new one otherwise.
   */
  static of (body: unknown, maxSize: number): ReplayableBody {
    if (body === undefined) return NO_BODY
    if (body === null) return NULL_BODY
    return new ReplayableBody(body, maxSize)
  }

  get isStream (): boolean {
    return this.#streaming
  }

  /** Whether the body can still be sent again from its first byte. */
  get replayable (): boolean {
    return !this.#streaming || !this.#overflow
  }

  /** Bytes recorded so far (streams only). */
  get recordedBytes (): number {
    return this.#size
  }

  /**
   * The body to hand undici for the next attempt. For a stream, a fresh iterable that replays the
   * recorded chunks, then continues the source; a string or bytes are given as they are.
   */
  nextBody (): unknown {
    if (!this.#streaming) return this.#static
    if (this.#overflow) throw new Error('request body is no longer replayable')
    if (this.#ended) return this.#size === 0 ? null : Buffer.concat(this.#chunks, this.#size)
    return this.#iterate()
  }

  /** Releases the source stream when the request ends without sending the rest of it. */
  dispose (error?: Error): void {
    if (!this.#streaming) return
    if (!this.#ended) this.#sourceStream?.destroy?.(error)
    this.#chunks = []
  }

  #pull (): Promise<{ chunk: Chunk, recorded: boolean } | undefined> {
    // One pull at a time, shared: an attempt that failed may still have one in flight, and its chunk
    // must reach the next attempt, in order.
    this.#pending ??= (this.#source as AsyncIterator<unknown>).next().then((result) => {
      this.#pending = undefined
      if (result.done === true) {
        this.#ended = true
        return undefined
      }
      const chunk = toBuffer(result.value)
      if (this.#overflow || this.#size + chunk.length > this.#maxSize) {
        this.#overflow = true
        return { chunk, recorded: false }
      }
      this.#chunks.push(chunk)
      this.#size += chunk.length
      return { chunk, recorded: true }
    }, (error: unknown) => {
      this.#pending = undefined
      throw error
    })
    return this.#pending
  }

  async * #iterate (): AsyncGenerator<Buffer> {
    // Replays what was recorded, then pulls from the source. It never closes the source: undici
    // giving up on this iterable after a failed attempt must leave the rest for the next one.
    let index = 0
    for (;;) {
      if (index < this.#chunks.length) {
        yield this.#chunks[index++] as Chunk
        continue
      }
      if (this.#ended) return
      const next = await this.#pull()
      if (next === undefined) return
      if (next.recorded) continue
      yield next.chunk
    }
  }
}

const NO_BODY = new ReplayableBody(undefined, 0)
const NULL_BODY = new ReplayableBody(null, 0)

// An async view of a sync iterator: nothing to await, by design.
// eslint-disable-next-line @typescript-eslint/require-await
async function * toAsync (iterator: Iterator<unknown>): AsyncGenerator<unknown> {
  for (let r = iterator.next(); r.done !== true; r = iterator.next()) yield r.value
}
