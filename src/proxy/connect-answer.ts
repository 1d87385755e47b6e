/**
 * A proxy's answer to a CONNECT, read from the bytes received so far: the status line, the headers,
 * and where the answer's body ends (RFC 9112 section 6.3), so that a 407's body can be drained before
 * the next authentication leg is written on the same connection. Pure: no I/O.
 */

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/
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

/** `undefined` while the head is incomplete; `'invalid'` when it is not HTTP/1.x. */
export function readConnectAnswer (bytes: Buffer): ConnectAnswer | 'invalid' | undefined {
  const end = bytes.indexOf(HEAD_END)
  if (end === -1) return undefined
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n')
  const match = STATUS_LINE.exec(lines[0] ?? '')
  if (match === null) return 'invalid'
  const headers = new Map<string, string[]>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) return 'invalid'
    const name = line.slice(0, colon).trim().toLowerCase()
    const values = headers.get(name) ?? []
    values.push(line.slice(colon + 1).trim())
    headers.set(name, values)
  }
  const status = Number(match[2])
  const connection = (headers.get('connection') ?? []).join(',').toLowerCase().split(',').map((t) => t.trim())
  const keepAlive = match[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive')
  const headEnd = end + HEAD_END.length
  return {
    status,
    reason: (match[3] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 80),
    headers,
    headEnd,
    keepAlive,
    bodyEnd: bodyEnd(bytes, headEnd, headers)
  }
}

function bodyEnd (bytes: Buffer, start: number, headers: Map<string, string[]>): ConnectAnswer['bodyEnd'] {
  const encoding = headers.get('transfer-encoding')
  if (encoding !== undefined) {
    if (encoding.join(',').toLowerCase().trim() !== 'chunked') return 'invalid'
    return chunkedEnd(bytes, start)
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

/** The end of a chunked body (RFC 9112 section 7.1), trailers included. */
function chunkedEnd (bytes: Buffer, start: number): ConnectAnswer['bodyEnd'] {
  let at = start
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd === -1) return at - start > MAX_DRAINED_BODY ? 'too-large' : 'more'
    const size = /^([0-9a-fA-F]{1,6})(?:;[^\r\n]*)?$/.exec(bytes.subarray(at, lineEnd).toString('latin1'))
    if (size === null) return 'invalid'
    const length = Number.parseInt(size[1] as string, 16)
    at = lineEnd + 2
    if (length === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const trailerEnd = bytes.indexOf('\r\n', at)
        if (trailerEnd === -1) return 'more'
        if (trailerEnd === at) return at + 2
        at = trailerEnd + 2
      }
    }
    if (at + length - start > MAX_DRAINED_BODY) return 'too-large'
    if (bytes.length < at + length + 2) return 'more'
    if (bytes[at + length] !== 0x0d || bytes[at + length + 1] !== 0x0a) return 'invalid'
    at += length + 2
  }
}
