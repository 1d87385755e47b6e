import type { TLSSocket } from 'node:tls'
import { authError, ErrorCodes } from '../errors.ts'
import { parseResponseHead, requestTarget, VISIBLE } from '../http1-head.ts'
import type { AuthSession } from './session.ts'

/**
 * Authenticates a new connection before undici gets it: the handshake's legs are `HEAD <path>`
 * requests written on the TLS socket (no body, so the caller's body, even a stream that cannot be
 * sent twice, goes once, after the handshake, and no `Expect: 100-continue` is involved). A HEAD
 * response has no body, so nothing is left to drain between legs. Bounded: `timeout` for the whole
 * handshake, `MAX_HEAD_BYTES` a response head, `MAX_LEGS` legs (the session's).
 */

export const MAX_HEAD_BYTES = 16_384

export interface ConnectionHandshake {
  /** The server's last status: 2xx/3xx/404... when authenticated, 401 when the credentials were refused. */
  status: number
  /** Whether the server accepted the credentials (its last answer was neither a 401 nor a 403). */
  authenticated: boolean
  /** Requests sent (legs). */
  legs: number
  /**
   * With `checkBound`: whether the connection stays authenticated (a `HEAD` without a header after
   * the handshake did not get a 401). False: the server wants a fresh token on every request
   * (Kerberos with `GssapiConnectionBound Off`). Undefined when not checked.
   */
  connectionBound?: boolean
}

interface Head { status: number, reusable: boolean, authenticate: string[] }

/** The handshake's request target: the path without its query (a query may hold values that act or are secret). */
export function handshakeTarget (path: string): string {
  return requestTarget(path) ?? '/'
}

function parseHead (text: string): Head | undefined {
  const head = parseResponseHead(text)
  if (head === undefined || head.status < 100 || head.status > 599) return undefined
  return { status: head.status, reusable: head.keepAlive, authenticate: head.headers.get('www-authenticate') ?? [] }
}

function failed (problem: string): Error {
  return authError(ErrorCodes.AUTH_FAILED, problem)
}

/** Writes one HEAD with `authorization` and reads the response head (interim responses skipped). */
function exchange (socket: TLSSocket, request: string, deadline: number): Promise<Head> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
    }
    const fail = (error: Error): void => { cleanup(); reject(error) }
    const onError = (error: Error): void => fail(error)
    const onEnd = (): void => fail(failed('the server closed the connection during the authentication handshake'))
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk])
      for (;;) {
        const end = received.indexOf('\r\n\r\n')
        if (end === -1 || end + 4 > MAX_HEAD_BYTES) {
          if (received.length > MAX_HEAD_BYTES) fail(authError(ErrorCodes.AUTH_INVALID_CHALLENGE, `the response head during the authentication handshake exceeds ${MAX_HEAD_BYTES} bytes`))
          return
        }
        const head = parseHead(received.subarray(0, end).toString('latin1'))
        if (head === undefined) { fail(authError(ErrorCodes.AUTH_INVALID_CHALLENGE, 'the answer to an authentication leg is not an HTTP/1.1 response head')); return }
        received = received.subarray(end + 4)
        if (head.status < 200) continue // 100, 103: the final response follows
        if (received.length > 0) { fail(authError(ErrorCodes.AUTH_INVALID_CHALLENGE, 'the server sent bytes after its response to HEAD')); return }
        cleanup()
        socket.pause() // undici reads in paused mode ('readable'); the 'data' listener made it flow
        resolve(head)
        return
      }
    }
    const timer = setTimeout(() => fail(failed('no answer to the authentication handshake in time')), Math.max(0, deadline - Date.now()))
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.resume() // paused after the previous leg: a new 'data' listener alone does not restart it
    socket.write(request)
  })
}

/**
 * Runs the session's handshake on the socket: `HEAD <path>` with each leg's header until the server
 * answers anything but a 401 (authenticated; a Negotiate final token is checked, mutual
 * authentication) or the session has no next leg (refused: the connection stays unauthenticated and
 * the caller's request gets the server's own 401). The socket must stay open between legs and after.
 */
export async function authenticateConnection (socket: TLSSocket, session: AuthSession, options: { host: string, path: string, timeout: number, checkBound?: boolean }): Promise<ConnectionHandshake> {
  if (!VISIBLE.test(options.host)) throw failed('the Host cannot be sent in a request line')
  const deadline = Date.now() + options.timeout
  const target = handshakeTarget(options.path)
  let header: string | undefined = await session.first()
  for (;;) {
    const head = await exchange(socket, `HEAD ${target} HTTP/1.1\r\nhost: ${options.host}\r\nauthorization: ${header}\r\n\r\n`, deadline)
    if (head.status !== 401) {
      await session.finish(head.authenticate)
      if (!head.reusable) throw failed('the server closes the connection it authenticated')
      // A 403 (such as Apache's refused post-handshake authentication) says nothing about the credentials.
      if (head.status === 403) return { status: 403, authenticated: false, legs: session.legs }
      if (options.checkBound !== true) return { status: head.status, authenticated: true, legs: session.legs }
      const check = await exchange(socket, `HEAD ${target} HTTP/1.1\r\nhost: ${options.host}\r\n\r\n`, deadline)
      if (!check.reusable) throw failed('the server closes the connection it authenticated')
      return { status: head.status, authenticated: true, legs: session.legs, connectionBound: check.status !== 401 }
    }
    header = await session.next(head.authenticate)
    if (header === undefined) {
      if (!head.reusable) throw failed('the server refused the credentials and closed the connection')
      return { status: 401, authenticated: false, legs: session.legs }
    }
    if (!head.reusable) throw failed('the server closed the connection in the middle of the authentication handshake')
  }
}
