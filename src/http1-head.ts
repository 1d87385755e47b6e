/**
 * HTTP/1.x response heads read on sockets undici does not have yet: the priming request
 * (src/priming.ts), the authentication legs of a connection (src/auth/handshake.ts) and a proxy's
 * answer to CONNECT (src/proxy/connect-answer.ts). Pure: no I/O; what a head must not hold (a
 * status out of range, an upgrade) is each caller's rule.
 */

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/

/** A request target or a Host value as undici would send them: visible ASCII, no whitespace. */
export const VISIBLE = /^[\x21-\x7e]+$/

export interface ResponseHead {
  status: number
  /** The reason phrase as sent (the server's text: escape it before it is shown). */
  reason: string
  /** Header values by lower-case name, in order. */
  headers: Map<string, string[]>
  /** Whether the server keeps the connection open after this response (HTTP/1.1 without `close`, or 1.0 with `keep-alive`). */
  keepAlive: boolean
}

/** Parses a response head (latin1 text, without its final blank line). Undefined when it is not one. */
export function parseResponseHead (text: string): ResponseHead | undefined {
  const lines = text.split('\r\n')
  const match = STATUS_LINE.exec(lines[0] ?? '')
  if (match === null) return undefined
  const headers = new Map<string, string[]>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) return undefined
    const name = line.slice(0, colon).trim().toLowerCase()
    const values = headers.get(name) ?? []
    values.push(line.slice(colon + 1).trim())
    headers.set(name, values)
  }
  const connection = (headers.get('connection') ?? []).join(',').toLowerCase().split(',').map((token) => token.trim())
  const keepAlive = match[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive')
  return { status: Number(match[2]), reason: match[3] ?? '', headers, keepAlive }
}

/** A path as an origin-form request target without its query or fragment (a query may hold values that act or are secret). Undefined if it is not one. */
export function requestTarget (path: string): string | undefined {
  const end = path.search(/[?#]/)
  const target = end === -1 ? path : path.slice(0, end)
  return target.startsWith('/') && VISIBLE.test(target) ? target : undefined
}
