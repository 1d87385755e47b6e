import type { TLSSocket } from 'node:tls'
import { ErrorCodes, TlsFallbackError } from './errors.ts'
import { parseResponseHead, requestTarget, VISIBLE } from './http1-head.ts'

/**
 * Priming (issue 31): on a new connection, before undici gets it, a safe request (`HEAD <path>`, no
 * body) lets a server that asks for the client certificate after the request renegotiate now, while
 * it holds no body. The upload then goes on the same connection, which the server no longer
 * renegotiates, so no buffer limit applies (Apache `SSLRenegBufferSize`, IIS `uploadReadAheadSize`).
 * One round trip per new connection, never per request. The decisions of when to prime are in
 * src/decide.ts (`needsPriming`), routed by src/uploads.ts; the connector runs this through `ConnectorOptions.prepare`.
 *
 * TLS 1.3: there is no renegotiation, and a server that wants the certificate after the request
 * needs post-handshake authentication, which Node's TLS client cannot announce (nodejs/node#36926:
 * Apache answers 403 "Cannot perform Post-Handshake Authentication"). The agent's remedy for that
 * 403 is the `renegotiation` stack, which offers at most TLS 1.2 (src/stacks.ts); priming on that
 * TLS 1.2 connection covers the PHA path. On a TLS 1.3 connection priming sends nothing and says
 * `not-applicable`, unless asked to probe (`tls13Probe`): then it sends `OPTIONS <path>` (a safe
 * method whose response, unlike HEAD's, carries Apache's page) and returns a 403 whole in `answer`,
 * so that the first upload to a new origin finds the post-handshake-auth answer before its body
 * goes anywhere.
 */

/** The response head may not be larger than undici's default `maxHeaderSize`. */
export const DEFAULT_PRIMING_MAX_HEADER_BYTES = 16_384
/** The largest body of the TLS 1.3 probe's response that is read (and dropped) before undici gets the connection. */
export const MAX_PROBE_BODY_BYTES = 65_536
/** The most of a probe's 403 body kept for its caller (as the agent holds a 403 back: `HOLD_LIMIT`). */
const MAX_PROBE_ANSWER_BYTES = 4096

export interface PrimingOptions {
  /** The `Host` header, as undici sends it for the origin (`host` or `host:port`). */
  host: string
  /** The path to prime (the upload's). Its query is left out: a query may hold values that act or that are secret. */
  path: string
  /** Milliseconds for the whole exchange (the connect timeout). */
  timeout: number
  /** Bytes of the response head at most; default `DEFAULT_PRIMING_MAX_HEADER_BYTES`. */
  maxHeaderBytes?: number
  /** The connection's handshake count (the first handshake included), as the connector counts it. */
  handshakes: () => number
  /** On TLS 1.3, send `OPTIONS <path>` and return a 403 whole (see above). Default: false, nothing is sent. */
  tls13Probe?: boolean
}

/** The TLS 1.3 probe's 403, whole: the caller reads whether it is Apache's post-handshake-auth answer. */
export interface ProbeAnswer {
  statusCode: number
  statusMessage: string
  /** Lower-case names; a repeated header is an array. */
  headers: Record<string, string | string[]>
  body: Buffer
}

export interface PrimingResult {
  /**
   * - `renegotiated`: the server renegotiated during the exchange: the connection carries the
   *   certificate (or whatever the server asked for) and uploads on it meet no renegotiation buffer;
   * - `not-renegotiated`: the server answered without renegotiating: the path asks for nothing after
   *   the request (or asked already, on an earlier exchange);
   * - `not-applicable`: TLS 1.3, nothing was sent (see above).
   */
  outcome: 'renegotiated' | 'not-renegotiated' | 'not-applicable'
  /** The status of the priming response (401/403/404 too: what counts is whether it renegotiated). */
  status: number | undefined
  /** Renegotiations seen during the exchange. */
  renegotiations: number
  /** The server keeps the connection open after the response (no `Connection: close`, not HTTP/1.0 without keep-alive). */
  reusable: boolean
  /** The TLS 1.3 probe's response, when it was a 403 with a body of at most 4 KiB. */
  answer?: ProbeAnswer
}

type Reason = 'timeout' | 'closed' | 'header-too-large' | 'malformed' | 'unexpected-bytes' | 'invalid-target'

function primingError (reason: Reason, problem: string): TlsFallbackError & { reason: Reason } {
  const error = new TlsFallbackError(ErrorCodes.PRIMING_FAILED, `priming request failed: ${problem}`) as TlsFallbackError & { reason: Reason }
  Object.defineProperty(error, 'reason', { value: reason, enumerable: true })
  return error
}

/** The priming request's target: the path without its query or fragment. Undefined if it is not an origin-form path. */
export { requestTarget as primingTarget } from './http1-head.ts'

interface Head { status: number, message: string, reusable: boolean, interim: boolean, headers: Record<string, string | string[]> }

/** Parses a response head (without its final blank line). Undefined when it is not one. */
function parseHead (text: string): Head | undefined {
  const head = parseResponseHead(text)
  if (head === undefined || head.status < 100 || head.status > 599) return undefined
  const status = head.status
  if (status === 101) return undefined // no upgrade was asked for
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>
  for (const [name, values] of head.headers) headers[name] = values.length === 1 ? values[0] as string : values
  return { status, message: head.reason, reusable: head.keepAlive, interim: status >= 100 && status < 200, headers }
}

/**
 * Sends `HEAD <path>` on a connected TLS socket that undici does not have yet, reads the response
 * head (a HEAD response has no body), and says whether the server renegotiated meanwhile. Bounded:
 * `timeout` for the whole exchange, `maxHeaderBytes` for the head. Renegotiations are counted by the
 * connection (`handshakes`), never read from the response: a status or a header is the server's
 * text, a handshake the client took part in after authenticating the server's HelloRequest is not.
 *
 * On failure the socket is destroyed with the error it rejects with, so the connector's error
 * listener records what the connection saw (`ConnectionTracker.snapshotFor`): a socket error (an RST
 * after a refused renegotiation, on a stack that refuses it) is passed on as it is; anything else is
 * `TLS_FALLBACK_PRIMING_FAILED` with a `reason`.
 */
export function primeConnection (socket: TLSSocket, options: PrimingOptions): Promise<PrimingResult> {
  const tls13 = socket.getProtocol() === 'TLSv1.3'
  if (tls13 && options.tls13Probe !== true) {
    return Promise.resolve({ outcome: 'not-applicable', status: undefined, renegotiations: 0, reusable: true })
  }
  const target = requestTarget(options.path)
  if (target === undefined || !VISIBLE.test(options.host)) {
    return Promise.reject(primingError('invalid-target', 'the path or host cannot be sent as a request line'))
  }
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_PRIMING_MAX_HEADER_BYTES
  const before = options.handshakes()

  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0)
    let settled = false
    /** The probe's final head, while its body is read. */
    let final: Head | undefined
    let bodyLeft = 0
    const cleanup = (): void => {
      settled = true
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
    }
    const fail = (error: Error): void => {
      if (settled) return
      cleanup()
      // The error reaches the caller through the rejection; the connector's own listener still sees it.
      socket.on('error', () => {})
      if (!socket.destroyed) socket.destroy(error)
      reject(error)
    }
    const onError = (error: Error): void => {
      if (settled) return
      cleanup()
      reject(error)
    }
    const onEnd = (): void => fail(primingError('closed', 'the server closed the connection before its response'))
    const finish = (head: Head, body: Buffer | undefined): void => {
      cleanup()
      // undici reads the socket in paused mode ('readable'); the 'data' listener made it flow.
      socket.pause()
      const renegotiations = Math.max(0, options.handshakes() - before)
      const outcome = tls13 ? 'not-applicable' : renegotiations > 0 ? 'renegotiated' : 'not-renegotiated'
      const answer = body !== undefined && head.status === 403 && body.length <= MAX_PROBE_ANSWER_BYTES
        ? { answer: { statusCode: head.status, statusMessage: head.message, headers: head.headers, body } }
        : {}
      resolve({ outcome, status: head.status, renegotiations, reusable: head.reusable, ...answer })
    }
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
      if (final !== undefined) {
        // The probe's body (OPTIONS): read whole, so that undici starts on a clean connection.
        if (received.length > bodyLeft) {
          fail(primingError('unexpected-bytes', 'the server sent bytes after the response to OPTIONS'))
        } else if (received.length === bodyLeft) {
          finish(final, received)
        }
        return
      }
      for (;;) {
        const end = received.indexOf('\r\n\r\n')
        if (end === -1) {
          if (received.length > maxHeaderBytes) fail(primingError('header-too-large', `the response head exceeds ${maxHeaderBytes} bytes`))
          return
        }
        if (end + 4 > maxHeaderBytes) {
          fail(primingError('header-too-large', `the response head exceeds ${maxHeaderBytes} bytes`))
          return
        }
        const head = parseHead(received.subarray(0, end).toString('latin1'))
        if (head === undefined) {
          fail(primingError('malformed', 'the response is not an HTTP/1.1 response head'))
          return
        }
        received = received.subarray(end + 4)
        if (head.interim) continue // 100 Continue, 103 Early Hints: the final response follows
        if (tls13) {
          const length = bodyLengthOf(head)
          if (length === undefined) {
            fail(primingError('unexpected-bytes', `the response to OPTIONS has no Content-Length of at most ${MAX_PROBE_BODY_BYTES} bytes`))
            return
          }
          if (length > 0 || received.length > 0) {
            final = head
            bodyLeft = length
            onData(Buffer.alloc(0))
            return
          }
          finish(head, Buffer.alloc(0))
          return
        }
        if (received.length > 0) {
          // A HEAD response has no body: bytes after it would be read by undici as the next response.
          fail(primingError('unexpected-bytes', 'the server sent bytes after the response to HEAD'))
          return
        }
        finish(head, undefined)
        return
      }
    }
    const timer = setTimeout(() => fail(primingError('timeout', `no response within ${options.timeout} ms`)), options.timeout)
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.resume() // paused by an earlier step on the connection (an auth handshake): a 'data' listener alone does not restart it
    socket.write(`${tls13 ? 'OPTIONS' : 'HEAD'} ${target} HTTP/1.1\r\nhost: ${options.host}\r\n\r\n`)
  })
}

/** The body length of a response to OPTIONS: its Content-Length (at most MAX_PROBE_BODY_BYTES), 0 for 204 and 304; undefined otherwise. */
function bodyLengthOf (head: Head): number | undefined {
  if (head.status === 204 || head.status === 304) return 0
  if (head.headers['transfer-encoding'] !== undefined) return undefined
  const length = head.headers['content-length']
  if (typeof length !== 'string' || !/^\d{1,6}$/.test(length)) return undefined
  const n = Number(length)
  return n <= MAX_PROBE_BODY_BYTES ? n : undefined
}
