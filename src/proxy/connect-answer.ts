/**
 * A proxy's answer to a CONNECT, read from the bytes received so far: the status line, the headers,
 * and where the answer's body ends (RFC 9112 section 6.3), so that a 407's body can be drained before
 * the next authentication leg is written on the same connection. Pure: no I/O.
 */

import { parseResponseHead } from '../http1-head.ts'

const HEAD_END = Buffer.from('\r\n\r\n')
/** The largest 407 body drained between legs (Squid's is about 3 kB, Apache's 455 bytes). */
export const MAX_DRAINED_BODY = 64 * 1024

export interface ConnectAnswer {
  status: number
  /** The reason phrase, printable ASCII only, at most 80 characters. */
  reason: string
  /** Header values by lower-case name, in order (`proxy-authenticate` may repeat). */
  headers: Map<string, string[]>
  /** Where the head ends (the first byte after the blank line). */
  headEnd: number
  /** Whether the proxy keeps the connection open after this answer (HTTP/1.1 without `close`, or 1.0 with `keep-alive`). */
  keepAlive: boolean
  /**
   * Where the body ends: a byte offset once all of it arrived, `'more'` while some is missing,
   * `'unframed'` when the body runs to the close of the connection (no length, not chunked), or
   * `'too-large'` past `MAX_DRAINED_BODY`. Only used for a non-2xx answer (a 2xx has no body: the tunnel).
   */
  bodyEnd: number | 'more' | 'unframed' | 'too-large' | 'invalid'
}

/** The longest chunk-size line (size and extensions) or trailer line read while draining a 407. */
export const MAX_CHUNK_LINE = 4 * 1024

/** `undefined` while the head is incomplete; `'invalid'` when it is not HTTP/1.x. */
export function readConnectAnswer (bytes: Buffer): ConnectAnswer | 'invalid' | undefined {
  const end = bytes.indexOf(HEAD_END)
  if (end === -1) return undefined
  const head = readHead(bytes, end)
  if (head === 'invalid') return head
  return { ...head, bodyEnd: bodyEnd(bytes, head.headEnd, head.headers, { at: head.headEnd, trailers: false }) }
}

/**
 * A CONNECT answer read as its bytes arrive, in linear time and bounded memory: the bytes are kept
 * in one buffer that doubles (not copied again per chunk), the head is parsed once, and a chunked
 * body is scanned from the first chunk not yet complete. Everything is bounded: the head by
 * `maxHead`, the framed body by `MAX_DRAINED_BODY`, each chunk-size and trailer line by
 * `MAX_CHUNK_LINE` (past them: `'too-large'`).
 */
export class ConnectAnswerReader {
  readonly #maxHead: number
  #buffer = Buffer.alloc(0)
  #length = 0
  /** Where the search for the head's end goes on. */
  #searched = 0
  #head: Omit<ConnectAnswer, 'bodyEnd'> | undefined
  #chunked = { at: 0, trailers: false }

  constructor (maxHead: number) { this.#maxHead = maxHead }

  /** The bytes read since the last `reset()`. */
  get length (): number { return this.#length }

  /** Adds a chunk: `undefined` while the head is incomplete, `'head-too-large'` past `maxHead`. */
  push (chunk: Buffer): ConnectAnswer | 'invalid' | 'head-too-large' | undefined {
    if (this.#length + chunk.length > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#length + chunk.length, this.#buffer.length * 2, 4096))
      this.#buffer.copy(grown, 0, 0, this.#length)
      this.#buffer = grown
    }
    chunk.copy(this.#buffer, this.#length)
    this.#length += chunk.length
    const bytes = this.#buffer.subarray(0, this.#length)
    if (this.#head === undefined) {
      const end = bytes.indexOf(HEAD_END, Math.max(0, this.#searched - HEAD_END.length + 1))
      if (end === -1) {
        this.#searched = this.#length
        return this.#length > this.#maxHead ? 'head-too-large' : undefined
      }
      if (end + HEAD_END.length > this.#maxHead) return 'head-too-large'
      const head = readHead(bytes, end)
      if (head === 'invalid') return head
      this.#head = head
      this.#chunked = { at: head.headEnd, trailers: false }
    }
    return { ...this.#head, bodyEnd: bodyEnd(bytes, this.#head.headEnd, this.#head.headers, this.#chunked) }
  }

  /** Forgets everything read (the next answer starts at the next byte). */
  reset (): void {
    this.#length = 0
    this.#searched = 0
    this.#head = undefined
  }
}

function readHead (bytes: Buffer, end: number): Omit<ConnectAnswer, 'bodyEnd'> | 'invalid' {
  const head = parseResponseHead(bytes.subarray(0, end).toString('latin1'))
  if (head === undefined) return 'invalid'
  return {
    status: head.status,
    reason: head.reason.replace(/[^\x20-\x7e]/g, '').slice(0, 80),
    headers: head.headers,
    headEnd: end + HEAD_END.length,
    keepAlive: head.keepAlive
  }
}

function bodyEnd (bytes: Buffer, start: number, headers: Map<string, string[]>, chunked: ChunkedScan): ConnectAnswer['bodyEnd'] {
  const encoding = headers.get('transfer-encoding')
  if (encoding !== undefined) {
    if (encoding.join(',').toLowerCase().trim() !== 'chunked') return 'invalid'
    return chunkedEnd(bytes, start, chunked)
  }
  const lengths = headers.get('content-length')
  if (lengths === undefined) return 'unframed'
  const distinct = new Set(lengths.flatMap((v) => v.split(',')).map((v) => v.trim()))
  if (distinct.size !== 1) return 'invalid'
  const [text] = distinct
  if (!/^\d{1,9}$/.test(text ?? '')) return 'invalid'
  const length = Number(text)
  if (length > MAX_DRAINED_BODY) return 'too-large'
  return bytes.length >= start + length ? start + length : 'more'
}

/** Where a chunked body's scan goes on: the start of the first line or chunk not yet complete. */
interface ChunkedScan { at: number, trailers: boolean }

/**
 * The end of a chunked body (RFC 9112 section 7.1), trailers included, scanned from `scan.at`
 * (moved past every complete chunk and trailer line). The whole framed body counts against
 * `MAX_DRAINED_BODY`, each line against `MAX_CHUNK_LINE`.
 */
function chunkedEnd (bytes: Buffer, start: number, scan: ChunkedScan): ConnectAnswer['bodyEnd'] {
  for (;;) {
    const { at } = scan
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd === -1) {
      if (bytes.length - at > MAX_CHUNK_LINE || bytes.length - start > MAX_DRAINED_BODY) return 'too-large'
      return 'more'
    }
    if (lineEnd - at > MAX_CHUNK_LINE || lineEnd + 2 - start > MAX_DRAINED_BODY) return 'too-large'
    if (scan.trailers) {
      // Trailers, then an empty line.
      if (lineEnd === at) return at + 2
      scan.at = lineEnd + 2
      continue
    }
    const size = /^([0-9a-fA-F]{1,6})(?:;[^\r\n]*)?$/.exec(bytes.subarray(at, lineEnd).toString('latin1'))
    if (size === null) return 'invalid'
    const length = Number.parseInt(size[1] as string, 16)
    const data = lineEnd + 2
    if (length === 0) {
      scan.at = data
      scan.trailers = true
      continue
    }
    if (data + length + 2 - start > MAX_DRAINED_BODY) return 'too-large'
    if (bytes.length < data + length + 2) return 'more'
    if (bytes[data + length] !== 0x0d || bytes[data + length + 1] !== 0x0a) return 'invalid'
    scan.at = data + length + 2
  }
}
