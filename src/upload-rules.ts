import { tlsVersionRank, type StackName } from './stacks.ts'

/**
 * Large uploads to servers that ask for the client certificate after the request (issue 31): the
 * decisions, as pure functions. They live here for now because src/decide.ts is being reshaped in
 * parallel; they move into src/decide.ts (the one place where decisions are made) when the priming
 * is wired into the agent's routing.
 *
 * Why: a server that renegotiates for a certificate after reading the request (IIS conditional
 * client certificates, Apache `SSLVerifyClient` in a `<Location>`) must hold the request body while
 * it renegotiates, and refuses past a small buffer with 413 before renegotiating: Apache's
 * `SSLRenegBufferSize` (131072 bytes by default), IIS's `uploadReadAheadSize` (49152 bytes by
 * default). On a connection that has already renegotiated, the server asks for nothing and reads the
 * body as it comes. So a large upload goes on a connection primed by a safe request first
 * (src/priming.ts), once per connection.
 */

/** The default body size above which a request to a renegotiating origin needs a primed connection: IIS's `uploadReadAheadSize`. */
export const DEFAULT_PRIMING_BODY_LIMIT = 49_152

/** What the agent knows about the origin of a request, for the upload rules. */
export interface UploadOrigin {
  /** The stack the request goes on: the origin's learned policy or the host's configured stack. */
  stack: StackName
  /** The origin's policy came from a post-handshake-auth 403 (TLS 1.3), remedied on TLS 1.2 renegotiation. */
  phaFallback: boolean
  /** The host has a `clientCert`: a server may ask for it after the request. */
  hasClientCert: boolean
  /**
   * The host's limit in bytes: a body larger than this needs a primed connection; `false` turns
   * priming off for the host. Default `DEFAULT_PRIMING_BODY_LIMIT`.
   */
  limit: number | false
}

/**
 * Whether the origin may ask for a client certificate after the request: a learned or configured
 * `renegotiation` stack, a post-handshake-auth fallback, or a host with a `clientCert` (then the
 * priming request is also what finds the stack, on the first request to a new origin).
 */
export function originMayRenegotiate (origin: Omit<UploadOrigin, 'limit'>): boolean {
  return origin.stack === 'renegotiation' || origin.phaFallback || origin.hasClientCert
}

/**
 * Whether a request needs a connection that has already renegotiated. `bodyLength` is the body's
 * size in bytes when known before sending (Content-Length, a string or Buffer), `undefined` when it
 * is not (a stream without Content-Length): a body of unknown length counts as large, since it may
 * be larger than any buffer and cannot be sent again after a 413. `null` or 0: no body.
 */
export function needsPriming (bodyLength: number | null | undefined, origin: UploadOrigin): boolean {
  if (origin.limit === false) return false
  if (bodyLength === null || bodyLength === 0) return false
  if (bodyLength !== undefined && bodyLength <= origin.limit) return false
  return originMayRenegotiate(origin)
}

/** What is known when a response with status 413 arrives. */
export interface TooLargeInput {
  origin: UploadOrigin
  /**
   * Renegotiations on the request's connection before its response (handshakes after the first):
   * from the connection's own count (src/connector.ts), which an on-path attacker cannot raise.
   */
  renegotiationsBefore: number
  /** The connection's TLS version. */
  protocol: string | null
  /** The body can be sent again (a string, a Buffer, an iterable the caller can restart). */
  bodyReplayable: boolean
  /**
   * The connection was primed (src/priming.ts), whatever the outcome: a path whose priming did not
   * renegotiate asks for nothing after the request, so a 413 there is not a renegotiation buffer's.
   */
  primed: boolean
  /** The request was already sent again after a 413 once: never twice. */
  resent: boolean
}

/** Why a 413 reaches the caller as it came. */
export type TooLargeDelivery =
  | 'already-resent'
  | 'renegotiated'
  | 'primed'
  | 'tls13'
  | 'origin-does-not-renegotiate'
  | 'priming-off'
  | 'body-not-replayable'

/**
 * A 413 is the server's renegotiation buffer only on a connection that had not renegotiated nor been primed, over
 * TLS 1.2 or older, to an origin that may renegotiate, with priming on: then the request goes once
 * more on a primed connection (RFC 9110 section 15.5.14: the server refused to process it), when
 * its body can be sent again. Any other 413 is the application's and reaches the caller as it is.
 *
 * A 413 moves no policy: it only chooses a connection of the same stack. Measured on Apache 2.4.71:
 * the buffer's 413 (`Content-Length: 356`, `Connection: close`) and a `LimitRequestBody` 413 (no
 * Content-Length, `Connection: close`) differ only in framing, which a rule must not read; a
 * `LimitRequestBody` smaller than the body on an unprimed connection therefore costs one priming and
 * one resend before its 413 (on the primed connection) reaches the caller. Nothing runs twice: the
 * server processed neither.
 */
export function decideTooLarge (input: TooLargeInput): { kind: 'prime-and-resend' } | { kind: 'deliver', reason: TooLargeDelivery } {
  if (input.resent) return { kind: 'deliver', reason: 'already-resent' }
  if (input.renegotiationsBefore > 0) return { kind: 'deliver', reason: 'renegotiated' }
  if (input.primed) return { kind: 'deliver', reason: 'primed' }
  if (tlsVersionRank(input.protocol) >= tlsVersionRank('TLSv1.3')) return { kind: 'deliver', reason: 'tls13' }
  if (!originMayRenegotiate(input.origin)) return { kind: 'deliver', reason: 'origin-does-not-renegotiate' }
  if (input.origin.limit === false) return { kind: 'deliver', reason: 'priming-off' }
  if (!input.bodyReplayable) return { kind: 'deliver', reason: 'body-not-replayable' }
  return { kind: 'prime-and-resend' }
}
